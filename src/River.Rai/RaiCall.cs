namespace River;

/// <summary>One call waiting for its reply, whatever the type of its result.</summary>
internal interface IRaiCall
{
    /// <summary>The call's number, which its reply names.</summary>
    long Id { get; set; }

    /// <summary>The object called; null until a creation's reply is tied to its object.</summary>
    RaiTarget? Target { get; set; }

    /// <summary>The call's task: a <see cref="Task{TResult}"/> of the method's result type.</summary>
    Task Task { get; }

    /// <summary>Completes the call with the value the host returned.</summary>
    void Complete(object? value);

    /// <summary>Fails the call.</summary>
    void Fail(Exception error);

    /// <summary>The call as the <see cref="ValueTask{TResult}"/> a <c>ValueTask&lt;T&gt;</c> method returns, boxed.</summary>
    object AsValueTask();
}

/// <summary>
/// A call whose method returns a <typeparamref name="T"/> (<c>object?</c> for blocking and untyped ones): the
/// proxy hands out this task itself, so no wrapper task or cast runs per call. Its continuations run on the
/// thread that completes it, a <see cref="RaiCompletions"/> drainer.
/// </summary>
internal sealed class RaiCall<T> : TaskCompletionSource<T>, IRaiCall
{
    public long Id { get; set; }

    public RaiTarget? Target { get; set; }

    Task IRaiCall.Task => Task;

    public void Complete(object? value)
    {
        if (value is T result) TrySetResult(result);
        else if (value is null && default(T) is null) TrySetResult(default!);
        else TrySetException(new InvalidCastException($"The remote method returned {value?.GetType().FullName ?? "null"} where the interface says {typeof(T).FullName} (the host has another version of it)."));
    }

    public void Fail(Exception error) => TrySetException(error);

    public object AsValueTask() => new ValueTask<T>(Task);
}
