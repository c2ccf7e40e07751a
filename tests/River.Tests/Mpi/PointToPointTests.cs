using River.Mpi;

namespace River.Tests.Mpi;

public sealed class PointToPointTests
{
    [Theory]
    [InlineData(2, 1)]
    [InlineData(5, 2)]
    public async Task A_value_passes_around_a_ring_of_ranks_on_fewer_VMs(int ranks, int vms) =>
        await Embedded.RunAsync<RingPass>(ranks, vms);

    [Fact]
    public async Task Tags_select_messages_and_AnySource_AnyTag_report_the_sender_and_tag() =>
        await Embedded.RunAsync<TagsAndWildcards>(3);

    [Fact]
    public async Task A_rank_can_send_to_itself() =>
        await Embedded.RunAsync<SelfSend>(1);

    [Fact]
    public async Task Messages_between_a_pair_with_one_tag_arrive_in_the_order_sent() =>
        await Embedded.RunAsync<OrderRule>(2);

    [Theory]
    [InlineData(1)] // a local copy
    [InlineData(2)] // across VMs: the 1 MiB double[] goes over the wire as one block
    public async Task A_value_is_copied_at_Send_and_arrays_come_back_whole(int vms) =>
        await Embedded.RunAsync<CopiedAtSend>(2, vms);

    [Theory]
    [InlineData(1)]
    [InlineData(2)] // across VMs: the arrays are serialized
    public async Task Receive_into_a_buffer_blocking_or_posted_fills_it_when_the_lengths_match_and_replaces_it_otherwise(int vms) =>
        await Embedded.RunAsync<IntoBuffer>(2, vms);

    [Fact]
    public async Task A_posted_receive_takes_the_message_before_a_later_blocking_receive() =>
        await Embedded.RunAsync<PostedFirst>(2);

    [Fact]
    public async Task Test_is_null_until_the_message_arrives_and_WaitAny_WaitAll_complete_requests() =>
        await Embedded.RunAsync<RequestsProgram>(3);

    public sealed class RingPass : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            if (world.Rank == 0)
            {
                world.Send(42, dest: 1, tag: 0);
                Expect.Equal(42 + world.Size - 1, world.Receive<int>(world.Size - 1, 0), "the value back at rank 0");
            }
            else
            {
                var v = world.Receive<int>(world.Rank - 1, 0);
                world.Send(v + 1, (world.Rank + 1) % world.Size, 0);
            }
        }
    }

    public sealed class TagsAndWildcards : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            if (world.Rank == 1)
            {
                world.Send("two", 0, 2);
                world.Send("one", 0, 1);
            }
            else if (world.Rank == 2)
            {
                world.Send(7L, 0, 9);
            }
            else
            {
                Expect.Equal("one", world.Receive<string>(1, 1), "tag 1 taken before the older tag 2");
                Expect.Equal("two", world.Receive<string>(1, Communicator.AnyTag, out var s1), "AnyTag");
                Expect.Equal(new CompletedStatus(1, 2), s1, "status of AnyTag");
                Expect.Equal(7L, world.Receive<long>(Communicator.AnySource, Communicator.AnyTag, out var s2), "AnySource");
                Expect.Equal(new CompletedStatus(2, 9), s2, "status of AnySource");
            }
        }
    }

    public sealed class SelfSend : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            world.Send("to me", world.Rank, 4);
            Expect.Equal("to me", world.Receive<string>(world.Rank, 4, out var status), "the message to itself");
            Expect.Equal(new CompletedStatus(0, 4), status, "its status");
        }
    }

    public sealed class OrderRule : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            const int count = 5000;
            if (world.Rank == 0)
            {
                for (var i = 0; i < count; i++) world.Send(i, 1, tag: 3);
            }
            else
            {
                for (var i = 0; i < count; i++) Expect.Equal(i, world.Receive<int>(Communicator.AnySource, 3), "message number");
            }
        }
    }

    public sealed class CopiedAtSend : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            if (world.Rank == 0)
            {
                var data = Enumerable.Range(0, 1 << 17).Select(i => i * 0.5).ToArray();
                world.Send(data, 1, 0);
                data[0] = -1; // after Send: the receiver must not see it
                world.Send(new[] { 1, 2, 3 }, 1, 1);
            }
            else
            {
                var got = world.Receive<double[]>(0, 0);
                Expect.Equal(1 << 17, got.Length, "length");
                Expect.Equal(0.0, got[0], "first element (changed by the sender after Send)");
                Expect.Equal(65535.5, got[^1], "last element");
                Expect.Sequence([1, 2, 3], world.Receive<int[]>(0, 1), "int[]");
            }
        }
    }

    public sealed class IntoBuffer : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            const int Length = 100_003; // over River's 64 KiB big-value size
            if (world.Rank == 0)
            {
                for (var i = 1; i <= 3; i++) world.Send(Enumerable.Repeat(i * 0.25, Length).ToArray(), 1, 0);
                world.Send(new[] { 7, 8 }, 1, 1);
                for (var i = 1; i <= 3; i++) world.Send(Enumerable.Repeat(i * 0.5, Length).ToArray(), 1, 2);
                world.Send(new[] { 9 }, 1, 3);
                return;
            }
            var buffer = new double[Length];
            var same = buffer;
            for (var i = 1; i <= 3; i++)
            {
                world.Receive(0, 0, ref buffer);
                Expect.Equal(true, ReferenceEquals(same, buffer), "the buffer kept");
                Expect.Equal(Length, buffer.Count(x => x == i * 0.25), $"elements of message {i}");
            }
            var small = new int[5];
            world.Receive(0, 1, ref small);
            Expect.Sequence([7, 8], small, "an array of another length replaces the buffer");

            // A window of posted receives sharing one buffer: each copies in as it completes.
            var window = Enumerable.Range(0, 3).Select(_ => world.ImmediateReceive(0, 2, buffer)).ToArray();
            var other = world.ImmediateReceive(0, 3, small);
            for (var i = 1; i <= 3; i++)
            {
                window[i - 1].Wait();
                Expect.Equal(true, ReferenceEquals(same, window[i - 1].Value), $"posted receive {i} completes into the buffer");
                Expect.Equal(Length, buffer.Count(x => x == i * 0.5), $"elements of posted message {i}");
            }
            other.Wait();
            Expect.Sequence([9], other.Value, "a posted receive of another length gets the array received");
        }
    }

    public sealed class PostedFirst : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            if (world.Rank == 0)
            {
                world.Barrier(); // rank 1 has posted its receive before anything is sent
                world.Send("first", 1, 5);
                world.Send("second", 1, 5);
            }
            else
            {
                var posted = world.ImmediateReceive<string>(Communicator.AnySource, Communicator.AnyTag);
                world.Barrier();
                Expect.Equal("second", world.Receive<string>(0, 5), "the blocking receive, posted later");
                Expect.Equal(new CompletedStatus(0, 5), posted.Wait(), "the posted receive's status");
                Expect.Equal("first", posted.Value, "the posted receive");
            }
        }
    }

    public sealed class RequestsProgram : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            if (world.Rank == 0)
            {
                var fromTwo = world.ImmediateReceive<int>(2, 0);
                var fromOne = world.ImmediateReceive<int>(1, 0);
                Expect.Equal<CompletedStatus?>(null, fromOne.Test(), "Test before anything was sent");
                world.Send(0, 1, 7); // rank 1 may send now
                var first = Request.WaitAny(fromTwo, fromOne);
                Expect.Equal(1, first, "the request WaitAny says completed");
                Expect.Equal(new CompletedStatus(1, 0), fromOne.Test(), "Test after it completed");
                Expect.Equal(11, fromOne.Value, "rank 1's value");
                world.Send(0, 2, 7); // rank 2 may send now
                var statuses = Request.WaitAll(fromTwo, world.ImmediateSend(5, 1, 8));
                Expect.Equal(new CompletedStatus(2, 0), statuses[0], "rank 2's status");
                Expect.Equal(22, fromTwo.Value, "rank 2's value");
            }
            else
            {
                world.Receive<int>(0, 7);
                world.Send(world.Rank * 11, 0, 0);
                if (world.Rank == 1) Expect.Equal(5, world.Receive<int>(0, 8), "the immediate send");
            }
        }
    }
}
