namespace River.Mpi;

/// <summary>
/// A group of ranks that talk among themselves: point-to-point messages with tags, non-blocking requests
/// and collectives. <c>world</c> holds every rank of the job; <see cref="Split"/> makes smaller ones. Messages
/// of different communicators never mix, nor do a communicator's collectives and its point-to-point messages.
/// </summary>
public sealed partial class Communicator
{
    /// <summary>Receive from any rank.</summary>
    public const int AnySource = -1;

    /// <summary>Receive with any tag.</summary>
    public const int AnyTag = -1;

    private readonly VrId[] _members;
    private readonly Dictionary<VrId, int> _rankOf;
    private readonly long _context; // even: point-to-point; _context + 1: this communicator's collectives
    private int _splits;

    internal Communicator(Job job, VrId[] members, int rank, long context)
    {
        Job = job;
        _members = members;
        _rankOf = members.Select((id, r) => (id, r)).ToDictionary(x => x.id, x => x.r);
        Rank = rank;
        _context = context;
    }

    /// <summary>This rank in this communicator, 0 to <see cref="Size"/> - 1.</summary>
    public int Rank { get; }

    /// <summary>How many ranks this communicator holds.</summary>
    public int Size => _members.Length;

    internal Job Job { get; }

    internal Port Port => Job.Port;

    /// <summary>
    /// Sends <paramref name="value"/> (copied now: later changes are not seen) to rank <paramref name="dest"/>.
    /// Never waits for the matching receive; only a full receiver queue can slow it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">no such rank, or a negative tag.</exception>
    public void Send<T>(T value, int dest, int tag)
    {
        CheckTag(tag, allowAny: false);
        Port.Send(_members[CheckRank(dest, allowAny: false)], _context, tag, value);
    }

    /// <summary>Blocks until a message from <paramref name="source"/> (or <see cref="AnySource"/>) with <paramref name="tag"/> (or <see cref="AnyTag"/>) arrives; returns its value.</summary>
    /// <exception cref="InvalidCastException">the message holds another type than <typeparamref name="T"/>.</exception>
    /// <exception cref="MpiAbortedException">the job was aborted while waiting.</exception>
    public T Receive<T>(int source, int tag) => Port.Receive(SourceOf(source), _context, TagOf(tag)).Get<T>("v");

    /// <summary>Like <see cref="Receive{T}(int, int)"/>, and tells who sent it with which tag.</summary>
    public T Receive<T>(int source, int tag, out CompletedStatus status)
    {
        var packet = Port.Receive(SourceOf(source), _context, TagOf(tag));
        status = StatusOf(packet);
        return packet.Get<T>("v");
    }

    /// <summary>
    /// Receives an array into <paramref name="values"/> (MPI.NET's form): when it has as many elements as the message,
    /// the message is copied into it and the array the message arrived in goes back to River for a later message of its
    /// size (<see cref="Packet.Recycle"/>), so a loop of big receives into one buffer allocates nothing per message;
    /// otherwise (another length, or null) <paramref name="values"/> becomes the array received.
    /// </summary>
    /// <exception cref="InvalidCastException">the message holds another type than <typeparamref name="T"/>[].</exception>
    /// <exception cref="MpiAbortedException">the job was aborted while waiting.</exception>
    public void Receive<T>(int source, int tag, ref T[] values) =>
        values = Into(Port.Receive(SourceOf(source), _context, TagOf(tag)), values);

    /// <summary>The array in <paramref name="packet"/>, copied into <paramref name="values"/> when the lengths match (the packet's array then goes back to River), else the packet's own.</summary>
    private static T[] Into<T>(Packet packet, T[]? values)
    {
        var received = packet.Get<T[]>("v");
        if (values is null || values.Length != received.Length) return received;
        received.CopyTo(values.AsSpan());
        packet.Recycle();
        return values;
    }

    /// <summary>Sends like <see cref="Send{T}(T, int, int)"/>; the request is complete at once.</summary>
    public Request ImmediateSend<T>(T value, int dest, int tag)
    {
        Send(value, dest, tag);
        return new SendRequest(new CompletedStatus(dest, tag));
    }

    /// <summary>Posts a receive and returns at once; a message goes to the earliest posted receive it matches.</summary>
    public ReceiveRequest<T> ImmediateReceive<T>(int source, int tag) =>
        new(this, Port.Post(SourceOf(source), _context, TagOf(tag)), packet => packet.Get<T>("v"));

    /// <summary>
    /// Posts a receive of an array into <paramref name="values"/> (MPI.NET's form), completed as
    /// <see cref="Receive{T}(int, int, ref T[])"/> does: <see cref="ReceiveRequest{T}.Value"/> is <paramref name="values"/>
    /// holding the message when the lengths match, else the array received. Many such receives may share one buffer, as
    /// a bandwidth test's window does: each copies in as it completes.
    /// </summary>
    public ReceiveRequest<T[]> ImmediateReceive<T>(int source, int tag, T[] values) =>
        new(this, Port.Post(SourceOf(source), _context, TagOf(tag)), packet => Into(packet, values));

    /// <summary>
    /// Splits this communicator: ranks passing the same <paramref name="color"/> form a new one, ordered by
    /// <paramref name="key"/> (ties by rank here). Every rank must call it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">a negative color.</exception>
    public Communicator Split(int color, int key)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(color);
        var all = Allgather((color, key));
        var members = Enumerable.Range(0, Size).Where(r => all[r].Item1 == color).OrderBy(r => all[r].Item2).ThenBy(r => r).ToArray();
        // Every rank splits in the same order, so all derive the same context; ranks of different colors share none.
        var context = (long)Mix((ulong)_context ^ ((ulong)++_splits * 0x9E3779B97F4A7C15UL)) & ~1L;
        return new Communicator(Job, [.. members.Select(r => _members[r])], Array.IndexOf(members, Rank), context);
    }

    internal CompletedStatus StatusOf(Packet packet) => new(_rankOf[packet.Src], packet.Get<int>("t"));

    /// <summary>Sends a collective's message to <paramref name="rank"/>.</summary>
    internal void Put<T>(int rank, T value) => Port.Send(_members[rank], _context + 1, 0, value);

    /// <summary>Receives a collective's message from <paramref name="rank"/> (messages between two ranks stay in order).</summary>
    internal T Take<T>(int rank) => Port.ReceiveDirect(_members[rank], _context + 1).Get<T>("v");

    private VrId? SourceOf(int source) => source == AnySource ? null : _members[CheckRank(source, allowAny: true)];

    private static int? TagOf(int tag) => CheckTag(tag, allowAny: true) == AnyTag ? null : tag;

    private int CheckRank(int rank, bool allowAny)
    {
        if (rank < 0 || rank >= Size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"not a rank of this communicator (0 to {Size - 1}{(allowAny ? ", or AnySource" : "")})");
        return rank;
    }

    private static int CheckTag(int tag, bool allowAny) =>
        tag >= 0 || (allowAny && tag == AnyTag) ? tag : throw new ArgumentOutOfRangeException(nameof(tag), tag, $"a tag is 0 or more{(allowAny ? ", or AnyTag" : "")}");

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
