namespace River.Mpi;

/// <summary>
/// A rank's messages on its VR: an MPI message is one packet <c>{ c = context, t = tag, v = value }</c> whose
/// River <c>src</c> is the sending rank's VR. A receive is a match on (src, c, t), so River's own guarantee
/// (packets between two VRs arrive in order; <c>Recv</c> takes the oldest match) is MPI's order rule.
/// Receives posted with <c>ImmediateReceive</c> keep MPI's other rule: a message goes to the earliest posted
/// receive it matches, so later receives wait behind them.
/// </summary>
internal sealed class Port(MpiProgram vr, Job job)
{
    private readonly List<PostedReceive> _posted = [];

    public void Send<T>(VrId dest, long context, int tag, T value) => vr.Send(dest, new { c = context, t = tag, v = value });

    /// <summary>A blocking receive: straight from the mailbox (indexed by src) unless posted receives come first.</summary>
    public Packet Receive(VrId? source, long context, int? tag) =>
        _posted.Count == 0 ? job.Receive(MatchOf(source, context, tag)) : Wait(Post(source, context, tag));

    /// <summary>A receive no posted receive can compete for (a collective's own context).</summary>
    public Packet ReceiveDirect(VrId source, long context) => job.Receive(new { src = source, c = context, t = 0 });

    public PostedReceive Post(VrId? source, long context, int? tag)
    {
        var posted = new PostedReceive(source, context, tag);
        _posted.Add(posted);
        return posted;
    }

    /// <summary>Gives each posted receive, earliest first, the oldest queued packet it matches; never waits.</summary>
    /// <exception cref="MpiAbortedException">the job was aborted (a rank spinning on <c>Test</c> never blocks in a receive to learn it).</exception>
    public void Progress()
    {
        job.PollAbort();
        for (var i = 0; i < _posted.Count; i++)
        {
            var r = _posted[i];
            if (!vr.TryRecv(MatchOf(r.Source, r.Context, r.Tag), out var packet)) continue;
            r.Packet = packet;
            _posted.RemoveAt(i--);
        }
    }

    public Packet Wait(PostedReceive posted)
    {
        WaitAny([posted]);
        return posted.Packet!;
    }

    /// <summary>Blocks until one of <paramref name="waiting"/> has its packet; returns its index.</summary>
    public int WaitAny(IReadOnlyList<PostedReceive> waiting)
    {
        Progress();
        while (true)
        {
            for (var i = 0; i < waiting.Count; i++)
                if (waiting[i].Packet is not null) return i;
            // Only receives posted up to the last one waited on compete for what arrives next.
            var last = waiting.Max(w => _posted.IndexOf(w));
            var packet = job.Receive((Func<Packet, bool>)(p => FirstMatch(p, last) >= 0));
            var taker = FirstMatch(packet, last);
            _posted[taker].Packet = packet;
            _posted.RemoveAt(taker);
        }
    }

    private int FirstMatch(Packet packet, int last)
    {
        for (var i = 0; i <= last; i++)
            if (_posted[i].Matches(packet)) return i;
        return -1;
    }

    // One anonymous shape per kind of receive: River compiles each once and indexes the queue by its first attribute.
    private static object MatchOf(VrId? source, long context, int? tag) => (source, tag) switch
    {
        ({ } s, { } t) => new { src = s, c = context, t },
        ({ } s, null) => new { src = s, c = context },
        (null, { } t) => new { c = context, t },
        _ => new { c = context },
    };
}

/// <summary>A receive posted by <c>ImmediateReceive</c> (or one waiting behind such), and the packet it got.</summary>
internal sealed class PostedReceive(VrId? source, long context, int? tag)
{
    public VrId? Source { get; } = source;

    public long Context { get; } = context;

    public int? Tag { get; } = tag;

    public Packet? Packet { get; set; }

    public bool Matches(Packet p) =>
        (Source is not { } s || p.Src == s)
        && p.TryGet<long>("c", out var c) && c == Context
        && (Tag is not { } t || (p.TryGet<int>("t", out var pt) && pt == t));
}
