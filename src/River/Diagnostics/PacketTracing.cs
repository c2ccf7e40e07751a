using System.Diagnostics;

namespace River;

/// <summary>
/// The trace context a packet carries: a W3C <c>traceparent</c> and <c>tracestate</c>, and when the packet entered the VM it
/// is received on (sent there, or read from a frame), where its <c>river.receive</c> span starts.
/// </summary>
internal sealed class PacketTrace(string parent, string? state, DateTimeOffset since)
{
    public string Parent { get; } = parent;

    public string? State { get; } = state;

    public DateTimeOffset Since { get; } = since;

    /// <summary>The context as a remote parent; <c>default</c> when <see cref="Parent"/> is not valid W3C (from a peer).</summary>
    public ActivityContext Context => ActivityContext.TryParse(Parent, State, isRemote: true, out var context) ? context : default;

    /// <summary>A context read from a frame: the receive span starts now, if anything here listens.</summary>
    public static PacketTrace Arrived(string parent, string? state) =>
        new(parent, state, PacketTracing.Source.HasListeners() ? DateTimeOffset.UtcNow : default);
}

/// <summary>
/// Spans for packets (<see cref="RiverMetrics.ActivitySourceName"/>) and the trace context packets carry. A send makes a
/// producer span <c>river.send</c> when something listens and samples it; the packet carries that span's context, or the
/// sender's own <see cref="Activity.Current"/> when River's span is not made, so a user's trace crosses VMs either way.
/// When the receiving VR takes the packet, a consumer span <c>river.receive</c> (from arrival to take) is made, its parent
/// the context the packet carried. With no listener and no current activity a send costs one listener check and one
/// <see cref="Activity.Current"/> read, and a take one null test.
/// </summary>
internal static class PacketTracing
{
    public const string SendSpan = "river.send";
    public const string ReceiveSpan = "river.receive";

    public static ActivitySource Source => RiverMetrics.Activities;

    /// <summary>True when a send has tracing to do: River's spans are listened to, or the sender is inside a span of its own.</summary>
    public static bool Active => Source.HasListeners() || Activity.Current is not null;

    /// <summary>Sends <paramref name="packet"/> in a <c>river.send</c> span (when sampled), carrying the trace context.</summary>
    public static void Send(RiverVm vm, Packet packet, TimeSpan? wait)
    {
        var span = Start(vm, packet);
        try
        {
            vm.Route(packet, wait);
        }
        catch (Exception e)
        {
            Failed(span, e);
            throw;
        }
        finally
        {
            span?.Stop();
        }
    }

    /// <summary>As <see cref="Send"/>; a span whose send has to wait ends when the send does, and is no longer the caller's current activity.</summary>
    public static ValueTask SendAsync(RiverVm vm, Packet packet, TimeSpan wait, CancellationToken cancel)
    {
        var previous = Activity.Current;
        var span = Start(vm, packet);
        ValueTask sending;
        try
        {
            sending = vm.RouteAsync(packet, wait, cancel);
        }
        catch (Exception e)
        {
            Failed(span, e);
            span?.Stop();
            throw;
        }
        if (span is null) return sending;
        if (sending.IsCompletedSuccessfully)
        {
            span.Stop();
            return sending;
        }
        Activity.Current = previous;
        return EndWhenSent(span, sending);
    }

    private static async ValueTask EndWhenSent(Activity span, ValueTask sending)
    {
        try
        {
            await sending.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Failed(span, e);
            throw;
        }
        finally
        {
            span.Stop();
        }
    }

    /// <summary>
    /// The receiving VR took <paramref name="packet"/>, which carries <paramref name="trace"/>: its <c>river.receive</c> span.
    /// The packet has left the queue already, so a listener that throws must not make the receive throw: the packet would be lost.
    /// </summary>
    public static void Received(Packet packet, PacketTrace trace)
    {
        if (!Source.HasListeners()) return;
        var parent = trace.Context;
        if (parent == default) return;
        var previous = Activity.Current;
        try
        {
            using var span = Source.StartActivity(ReceiveSpan, ActivityKind.Consumer, parent, startTime: trace.Since);
            if (span is not { IsAllDataRequested: true }) return;
            span.SetTag("messaging.system", "river");
            span.SetTag("messaging.operation.type", "receive");
            Describe(span, packet);
        }
        catch (Exception)
        {
            Activity.Current = previous; // the span may not have ended
        }
    }

    private static Activity? Start(RiverVm vm, Packet packet)
    {
        var span = Source.HasListeners() ? Source.StartActivity(SendSpan, ActivityKind.Producer) : null;
        // An unsampled River span still propagates (its flags say so); without one, the sender's own span does.
        if ((span ?? Activity.Current) is { IdFormat: ActivityIdFormat.W3C, Id: { } id } carried)
            packet.Trace = new PacketTrace(id, carried.TraceStateString, span is null ? default : new DateTimeOffset(span.StartTimeUtc));
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("messaging.system", "river");
            span.SetTag("messaging.operation.type", "send");
            span.SetTag("river.vm", vm.Id.ToString());
            span.SetTag("river.remote", !vm.TryGetLocal(packet.Dest, out _));
            Describe(span, packet);
        }
        return span;
    }

    private static void Describe(Activity span, Packet packet)
    {
        span.SetTag("river.src", packet.Src.ToString());
        span.SetTag("river.dest", packet.Dest.ToString());
        span.SetTag("river.attributes", packet.AttributeNames.Length);
    }

    private static void Failed(Activity? span, Exception error)
    {
        if (span is not { IsAllDataRequested: true }) return;
        span.SetStatus(ActivityStatusCode.Error, error.Message);
        span.SetTag("error.type", error.GetType().FullName);
    }
}
