using Xunit.Abstractions;

namespace River.Tests.Cluster;

/// <summary>
/// The fixture of a test that starts <c>river vm</c> processes and programs: a cluster of its own, and what it
/// started, all ended after each test. A derived class still carries <c>[Collection(ProcessCollection.Name)]</c>
/// itself (xunit 2 does not look for the attribute on base classes).
/// </summary>
/// <param name="output">Where each VM's summary (its log's tail) goes on dispose; none if null.</param>
public abstract class ProcessTest(ITestOutputHelper? output = null) : IDisposable
{
    // Named as fields so the tests' bodies read the same as when each class declared them.
    protected readonly TestCluster _cluster = TestCluster.Create();
    protected readonly List<VmProcess> _vms = [];
    protected readonly List<ChildProcess> _programs = [];

    /// <summary>The test's output, for lines of its own.</summary>
    protected ITestOutputHelper? Output => output;

    public virtual void Dispose()
    {
        foreach (var p in _programs) p.Dispose();
        if (output is not null)
        {
            foreach (var vm in _vms) output.WriteLine(vm.ToString());
        }
        _vms.DisposeAll();
        _cluster.Dispose();
        GC.SuppressFinalize(this);
    }
}
