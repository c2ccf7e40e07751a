namespace River.Mpi;

/// <summary>
/// An MPI program: every rank is one VR running <see cref="Run"/>. Rank 0 is the initiator (in the process
/// that launched the job, so its console output is the program's); it deploys the others round-robin over
/// the VMs and waits for all of them before it returns. An exception in any rank aborts every rank.
/// </summary>
/// <example><code>
/// public sealed class Ring : MpiProgram
/// {
///     protected override void Run(Communicator world)
///     {
///         if (world.Rank == 0) world.Send(42, dest: 1, tag: 0);
///         else Console.WriteLine(world.Receive&lt;int&gt;(0, 0));
///     }
/// }
/// </code></example>
public abstract class MpiProgram : VirtualResource
{
    /// <summary>This rank's body; <paramref name="world"/> holds every rank of the job.</summary>
    protected abstract void Run(Communicator world);

    /// <summary>Joins the job (rank 0 starts it), runs <see cref="Run"/>, and turns a failure anywhere into an abort.</summary>
    protected sealed override void Main()
    {
        var job = Parent is null ? Job.Start(this) : Job.Join(this);
        job.Execute(Run);
    }
}
