namespace River;

/// <summary>
/// A VR that starts children and restarts those that fail (Erlang/OTP's supervisor, on links; it traps exits):
/// a child that ends normally is done; one that fails, or is lost with its VM, is deployed again, on a
/// VM that is still there, by the <see cref="Strategy"/>. More than <see cref="MaxRestarts"/> restarts
/// within <see cref="Within"/> make the supervisor give up: it fails with
/// <see cref="SupervisorGaveUpException"/>, which its own monitors see, and its children still running fail
/// with it (they are linked to it, so they do not outlive it; also when its VM dies). It ends when every child is done.
/// </summary>
/// <example><code>
/// public sealed class Workers : Supervisor
/// {
///     protected override IEnumerable&lt;ChildSpec&gt; Children() =>
///         Enumerable.Range(0, 4).Select(i => new ChildSpec(typeof(Worker), i));
/// }
/// // in the initiator: Deploy&lt;Workers&gt;(Vm);  each Worker gets (i, restarts) as DeployArgs
/// </code></example>
public abstract class Supervisor : VirtualResource
{
    /// <summary>The children, started in order, one per VM in turn.</summary>
    protected abstract IEnumerable<ChildSpec> Children();

    /// <summary>What is restarted when a child fails (default: only that child).</summary>
    protected virtual RestartStrategy Strategy => RestartStrategy.OneForOne;

    /// <summary>Restarts allowed within <see cref="Within"/> before giving up (default 3).</summary>
    protected virtual int MaxRestarts => 3;

    /// <summary>The window <see cref="MaxRestarts"/> counts over (default 5 s).</summary>
    protected virtual TimeSpan Within => TimeSpan.FromSeconds(5);

    /// <summary>Called for each failure before the restart: a place to log it.</summary>
    protected virtual void OnChildFailed(int index, string reason, string? error)
    {
    }

    /// <inheritdoc />
    protected sealed override void Main()
    {
        var specs = Children().ToList();
        var ids = new VrId?[specs.Count];
        var restarts = new int[specs.Count];
        var done = new bool[specs.Count];
        var recent = new Queue<DateTime>();
        TrapExits = true;
        for (var i = 0; i < specs.Count; i++) ids[i] = Start(specs, i, restarts[i]);
        while (done.Any(d => !d))
        {
            var down = Recv(new { tag = Links.ExitTag });
            var index = Array.IndexOf(ids, (VrId?)down.Src);
            if (index < 0) continue; // a child already replaced
            var reason = down.Get<string>("reason");
            if (reason == Monitors.Normal)
            {
                done[index] = true;
                ids[index] = null;
                continue;
            }
            var error = down.Get<string?>("error");
            OnChildFailed(index, reason, error);
            var now = DateTime.UtcNow;
            recent.Enqueue(now);
            while (recent.Peek() < now - Within) recent.Dequeue();
            if (recent.Count > MaxRestarts)
                throw new SupervisorGaveUpException($"{recent.Count} restarts within {Within.TotalSeconds:0.#} s; the last: child {index} ({specs[index].VrType.Name}) {reason}{(error is null ? "" : $": {error}")}");
            var again = Strategy == RestartStrategy.OneForOne ? [index] : Enumerable.Range(0, specs.Count).Where(i => !done[i]).ToList();
            foreach (var i in again.Where(i => i != index && ids[i] is not null))
            {
                Unlink(ids[i]!.Value);
                Context.Vm.Monitors.Kill(ids[i]!.Value);
            }
            foreach (var i in again) ids[i] = Start(specs, i, ++restarts[i]);
        }
    }

    /// <summary>Deploys child <paramref name="index"/> on the next VM that is there now, and links to it.</summary>
    private VrId Start(List<ChildSpec> specs, int index, int restarts)
    {
        var vms = Discover();
        var child = Deploy(specs[index].VrType, [vms[(index + restarts) % vms.Count]], [.. specs[index].Args, restarts])[0];
        Link(child);
        return child;
    }
}
