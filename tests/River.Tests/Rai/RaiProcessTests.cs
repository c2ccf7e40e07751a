using System.Globalization;
using River.Tests.Cluster;

namespace River.Tests.RemoteObjects;

/// <summary>Remote objects on real <c>river vm</c> processes: code shipped, calls across processes, and a VM killed under a call.</summary>
[Collection(ProcessCollection.Name)]
public sealed class RaiProcessTests(Xunit.Abstractions.ITestOutputHelper output) : ProcessTest(output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Objects_on_river_vm_processes_are_called_from_any_VR_and_a_killed_VM_fails_its_calls_at_once()
    {
        _vms.AddRange(await VmProcess.StartManyAsync(_cluster, 2));
        var options = _cluster.Options();
        options.Seeds.Add(_vms[0].Address);
        await using var local = await RiverVm.JoinAsync(options);
        await Probe.Run(local, me =>
        {
            var all = me.Discover(3, Bound); // the second VM process is learned from the first, after the join
            VmInfo On(VmProcess p) => all.Single(v => v.Id.ToString() == p.Id);
            var calc = Rai.Create<ICalc, Calc>(me, On(_vms[0]), "far", 1L);
            Assert.Equal(_vms[0].Pid.ToString(CultureInfo.InvariantCulture), calc.WhereAmI());
            Assert.Equal(5, calc.Add(2, 3));
            Assert.Equal(typeof(DivideByZeroException).FullName, Assert.Throws<RaiRemoteException>(() => calc.Divide(1, 0)).RemoteType);
            var answers = Task.WhenAll(Enumerable.Range(0, 1000).Select(i => calc.AddAsync(i, i))).GetAwaiter().GetResult();
            Assert.Equal(Enumerable.Range(0, 1000).Select(i => 2 * i), answers);

            // A VR on the other VM process calls the object through a proxy sent to it.
            var caller = me.Deploy<AccumulateBy>(On(_vms[1]), 41L);
            me.Send(caller, new { tag = "calc", calc = Rai.RefOf(calc) });
            Assert.Equal(_vms[1].Pid, me.Recv(new { tag = "done" }, Bound).Get<int>("where"));
            Assert.Equal(42L, calc.TotalAsync().AsTask().GetAwaiter().GetResult());

            // The object's VM dies under a call: the call fails (no hang), and so does the next one, at once.
            var under = calc.HangAsync();
            _vms[0].Kill();
            var lost = Assert.IsType<RaiObjectGoneException>(Record.Exception(() => under.Wait(Bound))?.InnerException);
            Assert.Equal("its VM is lost", lost.Reason);
            var next = calc.AddAsync(1, 1);
            Assert.True(next.IsFaulted, "a call to an object whose VM is lost fails before it returns");
            Assert.Throws<RaiObjectGoneException>(() => calc.Add(1, 1));
        }).WaitAsync(Bound);
    }
}

/// <summary>Adds its deploy argument to the object whose reference it is sent, and says where it ran (a VR class: a Probe's body does not travel to another process).</summary>
public sealed class AccumulateBy : VirtualResource
{
    protected override void Main()
    {
        var p = Recv(new { tag = "calc" });
        Rai.Bind(this, p.Get<RaiRef<ICalc>>("calc")).Accumulate((long)DeployArgs[0]!);
        Send(p.Src, new { tag = "done", where = Environment.ProcessId });
    }
}
