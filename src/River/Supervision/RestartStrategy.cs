namespace River;

/// <summary>What a <see cref="Supervisor"/> restarts when one child fails (Erlang/OTP's strategies).</summary>
public enum RestartStrategy
{
    /// <summary>Only the child that failed.</summary>
    OneForOne,

    /// <summary>Every child that has not finished: the others are killed and all start again.</summary>
    OneForAll,
}
