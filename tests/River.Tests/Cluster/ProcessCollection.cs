namespace River.Tests.Cluster;

/// <summary>
/// Tests that run clusters of real processes. They run one at a time, after the parallel tests:
/// their time bounds (failure detection in seconds, a fuzzing run) must not depend on what else
/// a 2-core machine is doing.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessCollection
{
    public const string Name = "VM processes";
}
