using River.Mpi;

namespace River.Tests.Mpi;

/// <summary>MPI_Abort: an exception in one rank ends every rank, names the rank and its error, and never hangs.</summary>
public sealed class AbortTests
{
    [Theory]
    [InlineData(2)] // a rank the others wait for in a barrier
    [InlineData(0)] // rank 0, which the others watch
    public async Task An_exception_in_one_rank_ends_every_rank_and_names_it(int failing)
    {
        var error = await Assert.ThrowsAsync<MpiAbortedException>(() => Embedded.RunAsync<FailsInRank>(4, 3, $"{failing}"));
        Assert.Equal(failing, error.Rank);
        Assert.Equal($"System.InvalidOperationException: rank {failing} fails on purpose", error.Error);
        Assert.Contains($"rank {failing} failed", error.Message);
    }

    [Fact]
    public async Task A_rank_that_fails_after_rank_0_finished_still_fails_the_job()
    {
        var error = await Assert.ThrowsAsync<MpiAbortedException>(() => Embedded.RunAsync<FailsLate>(3));
        Assert.Equal(2, error.Rank);
    }

    [Fact]
    public async Task A_rank_spinning_on_Test_learns_of_the_abort()
    {
        var error = await Assert.ThrowsAsync<MpiAbortedException>(() => Embedded.RunAsync<FailsWhileTested>(2));
        Assert.Equal(1, error.Rank);
    }

    [Fact]
    public async Task A_send_to_a_rank_that_does_not_exist_aborts_with_the_reason()
    {
        var error = await Assert.ThrowsAsync<MpiAbortedException>(() => Embedded.RunAsync<SendsNowhere>(2));
        Assert.Equal(1, error.Rank);
        Assert.StartsWith("System.ArgumentOutOfRangeException: not a rank of this communicator (0 to 1)", error.Error);
    }

    [Fact]
    public async Task MpiApp_returns_non_zero_when_a_rank_failed_and_zero_otherwise()
    {
        Assert.Equal(1, await MpiApp.RunAsync<FailsInRank>(["--vms", "2", "-n", "3", "1"]).WaitAsync(Embedded.Bound));
        Assert.Equal(0, await MpiApp.RunAsync<FailsInRank>(["--vms", "2", "-n", "3", "7"]).WaitAsync(Embedded.Bound));
        Assert.Equal(2, await MpiApp.RunAsync<FailsInRank>(["-n", "zero"]));
    }

    [Fact]
    public void The_rank_count_is_taken_out_of_the_arguments()
    {
        var (ranks, others) = MpiApp.ParseRanks(["a", "-n", "4", "b"]);
        Assert.Equal(4, ranks);
        Assert.Equal(["a", "b"], others);
        Assert.Equal(0, MpiApp.ParseRanks(["x"]).Ranks);
        Assert.Throws<ArgumentException>(() => MpiApp.ParseRanks(["-n"]));
        Assert.Throws<ArgumentException>(() => MpiApp.ParseRanks(["-np", "0"]));
    }

    /// <summary>The rank named by the first argument throws; the others wait in a barrier and a receive that never comes.</summary>
    public sealed class FailsInRank : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            if (world.Rank == int.Parse(Args[0])) throw new InvalidOperationException($"rank {world.Rank} fails on purpose");
            world.Barrier();
            if (world.Size > int.Parse(Args[0])) world.Receive<int>(Communicator.AnySource, 99);
        }
    }

    public sealed class FailsLate : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            world.Barrier();
            if (world.Rank == 2)
            {
                Thread.Sleep(200); // rank 0 has returned from Run by now and waits for the others
                throw new InvalidOperationException("late");
            }
        }
    }

    /// <summary>Rank 0 polls a receive that never completes and never blocks; rank 1 throws.</summary>
    public sealed class FailsWhileTested : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            if (world.Rank == 1) throw new InvalidOperationException("never sends");
            var request = world.ImmediateReceive<int>(1, 0);
            while (request.Test() is null) Thread.Sleep(1);
        }
    }

    public sealed class SendsNowhere : MpiProgram
    {
        protected override void Run(Communicator world)
        {
            if (world.Rank == 1) world.Send(1, dest: 2, tag: 0);
            world.Receive<int>(1, 0);
        }
    }
}
