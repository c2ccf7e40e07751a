using System.Diagnostics;
using System.Globalization;
using River.Bench.Vrs;

namespace River.Bench.Remote;

/// <summary>
/// River.Mpi's side: <c>ranks − 1</c> <c>river vm</c> processes and a VM in the bench process, one rank on each;
/// rank 0 runs here, so its measurements (<see cref="MpiBench.Samples"/>) are read directly.
/// </summary>
internal sealed class MpiCluster : IDisposable
{
    private readonly RiverCluster _cluster = new();
    private readonly List<ChildProcess> _vms = [];
    private readonly RiverVm _local;
    private readonly RunSettings _settings;

    public MpiCluster(RunSettings settings, int vms)
    {
        _settings = settings;
        try
        {
            var (first, port) = _cluster.StartVmAndWait("mpi-vm-1", settings.Timeout);
            _vms.Add(first);
            for (var i = 2; i < vms; i++) _vms.Add(_cluster.StartVmAndWait($"mpi-vm-{i}", settings.Timeout, port).Process);
            _local = _cluster.Join(port);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Runs <see cref="MpiBench"/> with <paramref name="ranks"/> ranks; returns rank 0's samples.</summary>
    public IReadOnlyList<double> Run(int ranks, params string[] args)
    {
        if (!_local.RunAsync<MpiBench>(args, ranks).Wait(_settings.Timeout))
            throw new TimeoutException($"River.Mpi {string.Join(' ', args)} on {ranks} ranks did not finish within {_settings.Timeout}.");
        return MpiBench.Samples;
    }

    public void Dispose()
    {
        _local?.DisposeAsync().AsTask().Wait();
        foreach (var vm in _vms) vm.Dispose();
        _cluster.Dispose();
    }
}

/// <summary>
/// Open MPI's side: mpi_baseline.c compiled with mpicc at bench time and run by mpirun over TCP on loopback
/// (<c>--mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include lo</c>). Absent when mpicc or mpirun is.
/// </summary>
internal sealed class OpenMpi
{
    private readonly string _program;
    private readonly RunSettings _settings;

    private OpenMpi(string program, RunSettings settings) => (_program, _settings) = (program, settings);

    public const string Name = "open-mpi-tcp";

    /// <summary>Compiles the baseline; null (with a note) when Open MPI is not installed.</summary>
    public static OpenMpi? TryBuild(RunSettings settings)
    {
        if (!settings.Runs(Name)) return null;
        var source = Path.Combine(AppContext.BaseDirectory, "Mpi", "mpi_baseline.c");
        var program = Path.Combine(Directory.CreateTempSubdirectory("river-bench-mpi-").FullName, "mpi_baseline");
        try
        {
            var (code, output) = Execute("mpicc", ["-O2", "-o", program, source], settings.Timeout);
            if (code == 0) return new OpenMpi(program, settings);
            settings.Log($"Open MPI baseline skipped: mpicc failed: {output}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            settings.Log("Open MPI baseline skipped: mpicc is not installed (apt-get install -y openmpi-bin libopenmpi-dev).");
        }
        return null;
    }

    /// <summary>Runs the baseline on <paramref name="ranks"/> processes; one number per timed rep.</summary>
    public IReadOnlyList<double> Run(int ranks, params string[] args)
    {
        string[] mpirun =
        [
            "-np", $"{ranks}", .. ranks > Environment.ProcessorCount ? ["--oversubscribe"] : Array.Empty<string>(),
            "--mca", "pml", "ob1", "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo", _program, .. args,
        ];
        var (code, output) = Execute("mpirun", mpirun, _settings.Timeout);
        if (code != 0) throw new InvalidOperationException($"mpirun {string.Join(' ', mpirun)} exited with {code}: {output}");
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => double.Parse(l, CultureInfo.InvariantCulture))];
    }

    private static (int Code, string Output) Execute(string file, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        // As root Open MPI refuses to start unless told that is intended.
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish within {timeout}.");
        }
        return (process.ExitCode, process.ExitCode == 0 ? stdout.Result : stderr.Result + stdout.Result);
    }
}
