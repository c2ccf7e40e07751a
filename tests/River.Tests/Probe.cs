using System.Collections.Concurrent;

namespace River.Tests;

/// <summary>A VR whose body a test supplies; the body is found through a key carried in DeployArgs.</summary>
public sealed class Probe : VirtualResource
{
    private static readonly ConcurrentDictionary<string, Action<Probe>> Bodies = new();

    public static string Register(Action<Probe> body)
    {
        var key = Guid.NewGuid().ToString();
        Bodies[key] = body;
        return key;
    }

    /// <summary>Runs <paramref name="body"/> as an initiator on <paramref name="vm"/> until it ends.</summary>
    public static Task Run(RiverVm vm, Action<Probe> body) => vm.RunAsync<Probe>(null, Register(body));

    protected override void Main() => Bodies[(string)DeployArgs[0]!](this);
}

/// <summary>The async flavour of <see cref="Probe"/>.</summary>
public sealed class AsyncProbe : AsyncVirtualResource
{
    private static readonly ConcurrentDictionary<string, Func<AsyncProbe, CancellationToken, Task>> Bodies = new();

    public static string Register(Func<AsyncProbe, CancellationToken, Task> body)
    {
        var key = Guid.NewGuid().ToString();
        Bodies[key] = body;
        return key;
    }

    public static Task Run(RiverVm vm, Func<AsyncProbe, CancellationToken, Task> body) => vm.RunAsync<AsyncProbe>(null, Register(body));

    protected override Task MainAsync(CancellationToken stop) => Bodies[(string)DeployArgs[0]!](this, stop);
}
