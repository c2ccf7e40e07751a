namespace River;

/// <summary>
/// Lets a VR's thread that waits for an answer read it itself, from the connection its last packets
/// left on, instead of being handed it by that connection's reader thread: one thread hop less per
/// round trip, which on a busy machine is most of a round trip's cost. The reader thread still reads
/// whenever the VR's thread does not, so nothing depends on the VR polling.
/// </summary>
internal static class ReplyPolling
{
    [ThreadStatic] private static PeerLink? t_sentOn;

    /// <summary>Notes that this thread just wrote to <paramref name="link"/>.</summary>
    public static void SentOn(PeerLink link) => t_sentOn = link;

    /// <summary>Reads and hands out what has arrived on the connection this thread last wrote to; never blocks.</summary>
    public static void Poll() => t_sentOn?.Connection?.TryReadOnCaller();

    /// <summary>This thread stops polling (it is about to park): the reader thread reads again.</summary>
    public static void Stop() => t_sentOn?.Connection?.HandBack();
}
