using System.Collections.Concurrent;
using System.Diagnostics;

namespace River.Tests.Diagnostics;

/// <summary>
/// An <see cref="ActivityListener"/> on River's source and the tests' own (<see cref="User"/>). Listeners are global and
/// other tests send packets meanwhile, so it samples only spans started in a flow a test marked as its own
/// (<see cref="Mark"/> at the top of each VR body) or under a sampled parent from one: others' packets stay
/// untraced, as with no listener.
/// </summary>
public sealed class SpanRecorder : IDisposable
{
    /// <summary>The tests' own source: a user's spans around and after River's.</summary>
    public static readonly ActivitySource User = new(UserSourceName);

    private const string UserSourceName = "River.Tests.Tracing";

    private static readonly AsyncLocal<bool> Marked = new();
    private readonly ActivityListener _listener;

    public SpanRecorder()
    {
        _listener = new ActivityListener
        {
            // By name: comparing with User could run User's initializer inside this check, while User is still null.
            ShouldListenTo = s => s.Name is RiverMetrics.ActivitySourceName or UserSourceName,
            // Parent-based too, as OpenTelemetry's default sampler: a parked RecvAsync is woken on a pool thread outside
            // the VR's flow, and takes its packet (making the receive span) there, under the sender's sampled context.
            Sample = (ref ActivityCreationOptions<ActivityContext> o) =>
                Marked.Value || (o.Parent != default && o.Parent.TraceFlags.HasFlag(ActivityTraceFlags.Recorded))
                    ? ActivitySamplingResult.AllDataAndRecorded
                    : ActivitySamplingResult.None,
            ActivityStopped = a => Stopped.Enqueue(a),
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Spans made from here on in this flow (a VR body, and what it starts) are sampled.</summary>
    public static void Mark() => Marked.Value = true;

    public static bool IsMarked => Marked.Value;

    public ConcurrentQueue<Activity> Stopped { get; } = new();

    /// <summary>The one stopped span named <paramref name="name"/> of a packet to <paramref name="dest"/>.</summary>
    public Activity Of(string name, VrId dest) =>
        Assert.Single(Stopped, a => a.OperationName == name && (string?)a.GetTagItem("river.dest") == dest.ToString());

    public void Dispose() => _listener.Dispose();
}
