using River.Mpi;

// An MPI program that goes wrong on purpose, for the abort tests on VM processes:
//   throw R   rank R throws while the others wait in a barrier;
//   wait      every rank reports where it runs, then waits for a message that never comes (a test kills a VM).
return await MpiApp.RunAsync<MpiFaults>(args);

public sealed class MpiFaults : MpiProgram
{
    protected override void Run(Communicator world)
    {
        switch (Args)
        {
            case ["throw", var rank] when world.Rank == int.Parse(rank):
                throw new InvalidOperationException($"rank {rank} fails on purpose");
            case ["throw", _]:
                world.Barrier();
                break;
            case ["wait"]:
                var where = world.Gather(Vm.Port, root: 0);
                if (world.Rank == 0) Console.WriteLine($"ranks on ports {string.Join(' ', where)}");
                world.Receive<int>(Communicator.AnySource, 99);
                break;
            default:
                throw new ArgumentException("usage: MpiFaults throw RANK | wait");
        }
    }
}
