namespace River;

/// <summary>The VR <see cref="RiverVm.Spawn{T}"/> runs: a delegate for a body, its outcome handed to the caller.</summary>
internal sealed class SpawnedVr<T>(Func<AsyncVirtualResource, Task<T>> body) : AsyncVirtualResource
{
    private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<T> Result => _result.Task;

    protected override async Task MainAsync(CancellationToken stop)
    {
        try
        {
            _result.SetResult(await body(this));
        }
        catch (Exception e)
        {
            _result.SetException(e);
            throw; // the VR fails too: monitors and links see why
        }
    }
}
