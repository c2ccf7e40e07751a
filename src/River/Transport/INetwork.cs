namespace River;

/// <summary>What a VM asks of the transport that joined it to a cluster.</summary>
internal interface INetwork : IAsyncDisposable
{
    /// <summary>Connect to a VM heard of through another member, if not connected yet.</summary>
    void Dial(VmInfo vm);

    /// <summary>The VM left: close its link; returns the numbered frames that were still on their way to it.</summary>
    IReadOnlyList<byte[]> Forget(VmId vm);

    /// <summary>Tells every connected VM what arrived from it, so what it sent before this VM's goodbye is not counted lost.</summary>
    void AcknowledgeAll();
}
