/// <summary>
/// NPB EP (embarrassingly parallel): 2^(M+1) uniform numbers in pairs; pairs inside the unit circle become
/// Gaussian deviates by the Marsaglia polar method; their sums and a count per annulus are the result.
/// The work is 2^(M−16) batches of 2^16 pairs; batch k starts its numbers at seed S · A^(2^17·k), so any
/// range of batches can be computed anywhere.
/// </summary>
internal static class Ep
{
    public const int BatchLog2 = 16, Annuli = 10;

    private const double Seed = 271828183.0;

    public static int SizeOf(char npbClass) => npbClass switch
    {
        'S' => 24,
        'W' => 25,
        'A' => 28,
        'B' => 30,
        'C' => 32,
        _ => throw new ArgumentException($"EP has no class {npbClass}."),
    };

    /// <summary>NPB's verification values of sx and sy for size <paramref name="m"/>.</summary>
    public static (double Sx, double Sy) Reference(int m) => m switch
    {
        24 => (-3.247834652034740e+3, -6.958407078382297e+3),
        25 => (-2.863319731645753e+3, -6.320053679109499e+3),
        28 => (-4.295875165629892e+3, -1.580732573678431e+4),
        30 => (4.033815542441498e+4, -2.660669192809235e+4),
        32 => (4.764367927995374e+4, -8.084072988043731e+4),
        _ => throw new ArgumentException($"no EP reference values for M = {m}"),
    };

    public static long Batches(int m) => 1L << (m - BatchLog2);

    /// <summary>Batches [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>): [sx, sy, q0..q9].</summary>
    public static double[] Run(long first, long count)
    {
        var pairs = 1 << BatchLog2;
        var x = new double[2 * pairs];
        var result = new double[2 + Annuli];
        var stride = NpbRandom.A;
        for (var i = 0; i <= BatchLog2; i++) NpbRandom.Next(ref stride, stride); // A^(2^17): one batch's numbers
        for (var k = first; k < first + count; k++)
        {
            var seed = NpbRandom.Skip(Seed, stride, k);
            NpbRandom.Fill(ref seed, NpbRandom.A, x);
            for (var i = 0; i < pairs; i++)
            {
                double x1 = 2.0 * x[2 * i] - 1.0, x2 = 2.0 * x[2 * i + 1] - 1.0, t1 = x1 * x1 + x2 * x2;
                if (t1 > 1.0) continue;
                var t2 = Math.Sqrt(-2.0 * Math.Log(t1) / t1);
                double t3 = x1 * t2, t4 = x2 * t2;
                result[2 + (int)Math.Max(Math.Abs(t3), Math.Abs(t4))] += 1.0;
                result[0] += t3;
                result[1] += t4;
            }
        }
        return result;
    }

    /// <summary>NPB's check: sx and sy within a relative 1e-8 of the reference.</summary>
    public static bool Verify(int m, double sx, double sy)
    {
        var (rx, ry) = Reference(m);
        return Math.Abs((sx - rx) / rx) <= 1e-8 && Math.Abs((sy - ry) / ry) <= 1e-8;
    }
}
