namespace River;

/// <summary>This process's place in a cluster (see <see cref="RiverApp.ConnectAsync(string[])"/>); disposing it leaves the cluster.</summary>
public sealed class RiverConnection : IAsyncDisposable
{
    private readonly Func<ValueTask> _stop;
    private readonly IDisposable _logging;

    internal RiverConnection(RiverVm vm, IReadOnlyList<string> args, Func<ValueTask> stop, IDisposable logging)
    {
        Vm = vm;
        Args = args;
        _stop = stop;
        _logging = logging;
    }

    /// <summary>The VM of this process: the one that joined the cluster, or the first of the embedded ones.</summary>
    public RiverVm Vm { get; }

    /// <summary>The program's arguments, River's options taken out.</summary>
    public IReadOnlyList<string> Args { get; }

    /// <summary>Stops this process's VMs.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop();
        _logging.Dispose();
    }
}
