using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace River.Tests.Transport;

public class TcpClusterTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    internal static ClusterOptions Options(string cluster, params RiverVm[] seeds)
    {
        var o = new ClusterOptions { Name = cluster, Multicast = false, Key = "0123456789abcdef0123"u8.ToArray() };
        foreach (var s in seeds) o.Seeds.Add($"127.0.0.1:{s.Info.Port}");
        return o;
    }

    [Fact]
    public async Task Discover_with_a_count_waits_for_a_VM_that_joins_later_and_returns_what_it_has_when_time_runs_out()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(Options(name));
        RiverVm? b = null;
        try
        {
            var found = new List<VmInfo>();
            var shortWait = TimeSpan.Zero;
            await Probe.Run(a, me =>
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                Assert.Single(me.Discover(2, TimeSpan.FromMilliseconds(300))); // alone: the wait runs out
                shortWait = clock.Elapsed;
                var joining = Task.Run(async () => b = await RiverVm.JoinAsync(Options(name, a)));
                found.AddRange(me.Discover(2, Bound));
                joining.Wait(Bound);
            }).WaitAsync(Bound);
            Assert.True(shortWait >= TimeSpan.FromMilliseconds(250), $"returned after {shortWait.TotalMilliseconds} ms, before its wait");
            Assert.Equal(2, found.Count);
            Assert.Contains(found, v => v.Id == b!.Id);
        }
        finally
        {
            if (b is not null) await b.DisposeAsync();
        }
    }

    [Fact]
    public async Task VMs_joined_through_a_seed_see_each_other_and_exchange_packets_over_TCP()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(Options(name));
        await using var b = await RiverVm.JoinAsync(Options(name, a));
        await using var c = await RiverVm.JoinAsync(Options(name, a));
        var sum = 0;
        await Probe.Run(c, me =>
        {
            var vms = me.Discover(3, Bound); // b is learned from a, after c's join
            Assert.Equal(3, vms.Count);
            var workers = me.Deploy<Probe>(vms, Probe.Register(w =>
            {
                for (var i = 0; i < 100; i++)
                {
                    var p = w.Recv(new { tag = "n" });
                    w.Send(p.Src, new { tag = "r", n = p.Get<int>("n") + 1, data = new byte[1000] });
                }
            }));
            for (var i = 0; i < 100; i++)
                foreach (var w in workers)
                {
                    me.Send(w, new { tag = "n", n = i });
                    sum += me.Recv(new { tag = "r", src = w }).Get<int>("n");
                }
        }).WaitAsync(Bound);
        Assert.Equal(3 * 5050, sum);
        Assert.True(c.PacketsOut >= 200);
        Assert.Equal(3, a.Discover(null, null).Count);
    }

    [Fact]
    public async Task VMs_that_join_at_once_or_down_a_chain_of_seeds_all_link_to_all()
    {
        // Gossip of a VM comes only from the first two VMs that listed it, and only to those that must dial it (smaller ids):
        // the mesh must still close, whatever order the ids fall in.
        var name = "t" + Guid.NewGuid().ToString("N");
        var vms = new List<RiverVm> { await RiverVm.JoinAsync(Options(name)) };
        try
        {
            for (var i = 1; i < 4; i++) vms.Add(await RiverVm.JoinAsync(Options(name, vms[^1]))); // each seeded by the one before
            vms.AddRange(await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => RiverVm.JoinAsync(Options(name, vms[0]))))); // at once
            foreach (var vm in vms)
            {
                var seen = await Task.Run(() => vm.Discover(null, Bound, vms.Count)).WaitAsync(Bound);
                Assert.Equal(vms.Select(v => v.Id.Value).Order(), seen.Select(v => v.Id.Value).Order());
            }
        }
        finally
        {
            foreach (var vm in vms) await vm.DisposeAsync();
        }
    }

    [Fact]
    public async Task Packets_that_follow_a_stream_to_a_VR_that_ended_are_counted_undeliverable()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(Options(name));
        await using var b = await RiverVm.JoinAsync(Options(name, a));
        var sinkEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sink = default(VrId);
        b.VrEnded += (_, e) =>
        {
            if (e.Id == sink) sinkEnded.TrySetResult();
        };
        var received = 0;
        await Probe.Run(a, me =>
        {
            sink = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(s =>
            {
                for (var i = 0; i < 100; i++) received += s.Recv(new { tag = "x" }, Bound).Get<int>("n") == i ? 1 : 0;
            }));
            for (var i = 0; i < 100; i++) me.Send(sink, new { tag = "x", n = i });
            Assert.True(sinkEnded.Task.Wait(Bound));
            // Same sender, same receiver, same link as the stream before: the VR's end must still be noticed.
            for (var i = 0; i < 5; i++) me.Send(sink, new { tag = "x", n = 100 + i });
        }).WaitAsync(Bound);
        var deadline = DateTime.UtcNow + Bound;
        while (b.Undeliverable < 5 && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(100, received);
        Assert.Equal(5, b.Undeliverable);
    }

    [Fact]
    public async Task Big_and_small_values_sent_in_a_burst_arrive_whole_and_in_order()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(Options(name));
        await using var b = await RiverVm.JoinAsync(Options(name, a));
        var seen = new List<(int N, int Length, bool Whole)>();
        await Probe.Run(a, me =>
        {
            var sink = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(s =>
            {
                for (var i = 0; i < 40; i++)
                {
                    var p = s.Recv(new { tag = "v" }, Bound);
                    var data = p.Get<byte[]>("data");
                    seen.Add((p.Get<int>("n"), data.Length, data.All(x => x == (byte)p.Get<int>("n"))));
                }
                s.Send(s.Parent!.Value, new { tag = "done" });
            }));
            // Small values are held back (corked), big ones may go straight to the socket: order must hold across both.
            for (var i = 0; i < 40; i++)
                me.Send(sink, new { tag = "v", n = i, data = Enumerable.Repeat((byte)i, i % 3 == 0 ? 300_000 + i : 100).ToArray() });
            me.Recv(new { tag = "done" }, Bound);
        }).WaitAsync(Bound);
        Assert.Equal(Enumerable.Range(0, 40), seen.Select(s => s.N));
        Assert.All(seen, s => Assert.True(s.Whole && s.Length == (s.N % 3 == 0 ? 300_000 + s.N : 100)));
    }

    [Fact]
    public async Task A_VM_with_the_wrong_key_is_refused()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(Options(name));
        var wrong = Options(name, a);
        wrong.Key = "another key, not the cluster's"u8.ToArray();
        await using var intruder = await RiverVm.JoinAsync(wrong);
        Assert.Single(intruder.Discover(null, null));
        Assert.Single(a.Discover(null, null));
    }

    [Fact]
    public async Task A_VM_of_another_cluster_is_refused()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(Options(name));
        var other = Options(name + "x", a);
        await using var stranger = await RiverVm.JoinAsync(other);
        Assert.Single(stranger.Discover(null, null));
    }

    [Fact]
    public async Task A_stopped_VM_leaves_Discover_of_the_others()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(Options(name));
        var b = await RiverVm.JoinAsync(Options(name, a));
        Assert.Equal(2, a.Discover(null, null).Count);
        await b.DisposeAsync();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (a.Discover(null, null).Count != 1 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Single(a.Discover(null, null));
    }

    [Fact]
    public async Task VMs_talk_over_TLS_when_given_a_certificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=river-test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var pfx = Path.Combine(Path.GetTempPath(), $"river-{Guid.NewGuid():N}.pfx");
        await File.WriteAllBytesAsync(pfx, cert.Export(X509ContentType.Pfx));
        try
        {
            var name = "t" + Guid.NewGuid().ToString("N");
            var first = Options(name);
            first.TlsCertificate = pfx;
            await using var a = await RiverVm.JoinAsync(first);
            var second = Options(name, a);
            second.TlsCertificate = pfx;
            await using var b = await RiverVm.JoinAsync(second);
            var echoed = "";
            await Probe.Run(b, me =>
            {
                var other = me.Deploy<Probe>(me.Discover().Single(v => v.Id == a.Id), Probe.Register(c => c.Send(c.Parent!.Value, new { back = c.Recv().Get<string>("text") })));
                me.Send(other, new { text = "over tls" });
                echoed = me.Recv(timeout: Bound).Get<string>("back");
            }).WaitAsync(Bound);
            Assert.Equal("over tls", echoed);
        }
        finally
        {
            File.Delete(pfx);
        }
    }

    [Fact]
    public async Task A_packet_over_the_maximum_frame_size_fails_at_Send_and_the_link_stays_up()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        var small = Options(name);
        small.MaxFrameSize = 64 * 1024;
        await using var a = await RiverVm.JoinAsync(small);
        var other = Options(name, a);
        other.MaxFrameSize = 64 * 1024;
        await using var b = await RiverVm.JoinAsync(other);
        Exception? tooBig = null;
        var after = 0;
        await Probe.Run(b, me =>
        {
            var echo = me.Deploy<Probe>(me.Discover().Single(v => v.Id == a.Id), Probe.Register(c => c.Send(c.Parent!.Value, new { n = c.Recv().Get<int>("n") })));
            tooBig = Record.Exception(() => me.Send(echo, new { blob = new byte[100_000] }));
            me.Send(echo, new { n = 5 });
            after = me.Recv(timeout: Bound).Get<int>("n");
        }).WaitAsync(Bound);
        Assert.IsType<ArgumentException>(tooBig);
        Assert.Contains("maximum frame size", tooBig!.Message);
        Assert.Equal(5, after);
    }

    [Fact]
    public async Task A_long_one_way_stream_of_mixed_sizes_arrives_whole_and_in_order()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        await using var a = await RiverVm.JoinAsync(Options(name));
        await using var b = await RiverVm.JoinAsync(Options(name, a));
        const int Count = 20_000;
        // Mostly small packets, held and written 16 KiB at a time, now and then one of 20 KiB: held writes end at
        // many sizes, records above the record layer's gather limit (32 KiB) are sealed as well, and credit
        // (every 4,096 packets) and acknowledgements (every 1,024) come back while the stream flows.
        static int Size(int n) => n % 997 == 0 ? 20_000 + n : 64;
        var bad = -1;
        var received = 0;
        await Probe.Run(a, me =>
        {
            var sink = me.Deploy<Probe>(me.Discover(wait: Bound).Single(v => v.Id == b.Id), Probe.Register(s =>
            {
                for (var i = 0; i < Count; i++)
                {
                    var p = s.Recv(new { tag = "v" }, Bound);
                    var data = p.Get<byte[]>("data");
                    if (bad < 0 && (p.Get<int>("n") != i || data.Length != Size(i) || data.Any(x => x != (byte)i))) bad = i;
                    received++;
                }
                s.Send(s.Parent!.Value, new { tag = "done" });
            }));
            for (var i = 0; i < Count; i++) me.Send(sink, new { tag = "v", n = i, data = Enumerable.Repeat((byte)i, Size(i)).ToArray() });
            me.Recv(new { tag = "done" }, Bound);
        }).WaitAsync(Bound);
        Assert.Equal(Count, received);
        Assert.Equal(-1, bad);
    }

    [Fact]
    public async Task A_packet_sent_before_a_long_computation_leaves_without_waiting_for_the_next_Recv()
    {
        var name = "t" + Guid.NewGuid().ToString("N");
        // Heartbeats would write held frames out too; keep them out of the way so only the flusher can.
        static ClusterOptions Quiet(ClusterOptions o)
        {
            o.HeartbeatInterval = TimeSpan.FromSeconds(20);
            o.FailureTimeout = TimeSpan.FromSeconds(60);
            return o;
        }
        await using var a = await RiverVm.JoinAsync(Quiet(Options(name)));
        await using var b = await RiverVm.JoinAsync(Quiet(Options(name, a)));
        using var arrived = new ManualResetEventSlim();
        var sink = default(VrId);
        await Probe.Run(b, me =>
        {
            sink = me.Deploy<Probe>(me.Discover().Single(v => v.Id == a.Id), Probe.Register(c =>
            {
                c.Recv(new { tag = "early" });
                arrived.Set();
            }));
            me.Send(sink, new { tag = "early" });
            // No Recv here: the VR "computes" until the packet is seen to arrive, which the flusher must allow.
            Assert.True(arrived.Wait(TimeSpan.FromSeconds(5)), "the packet waited for the sender's next Recv");
        }).WaitAsync(Bound);
    }
}
