using System.Diagnostics;
using System.Runtime.InteropServices;

namespace River.Bench;

internal static class Machine
{
    /// <summary>Cores, CPU model and runtime: the numbers only compare on the same kind of machine.</summary>
    public static string Describe() =>
        $"{Environment.ProcessorCount} cores, {CpuModel()}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}";

    /// <summary>
    /// Two threads bouncing a flag with SpinWait (pause, then sched_yield), the way River's Recv
    /// and the baselines spin. Measured on the 2-core VM: 0.1-0.3 µs when the host is calm, 2-12 µs
    /// when waits fall into SpinWait's sched_yield phase; then every latency in the table is mostly this.
    /// </summary>
    public static double SpinWaitRoundTripNs()
    {
        const int trips = 20_000;
        var ball = 0;
        var other = new Thread(() =>
        {
            for (var i = 0; i < trips; i++)
            {
                var spin = new SpinWait();
                while (Volatile.Read(ref ball) != 1) spin.SpinOnce(sleep1Threshold: -1);
                Volatile.Write(ref ball, 0);
            }
        })
        { IsBackground = true };
        other.Start();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < trips; i++)
        {
            Volatile.Write(ref ball, 1);
            var spin = new SpinWait();
            while (Volatile.Read(ref ball) != 0) spin.SpinOnce(sleep1Threshold: -1);
        }
        var ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds / trips;
        other.Join();
        return ns;
    }

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
                ?? RuntimeInformation.ProcessArchitecture.ToString();
        }
        catch (IOException)
        {
            return RuntimeInformation.ProcessArchitecture.ToString();
        }
    }
}
