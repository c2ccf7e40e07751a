using River;

// A task farm (docs/tutorial-build-a-runtime.md, step 6): the master hands the next task to whichever worker
// asks; a worker that is lost (its VM died) or fails has its task handed to another.
return await RiverApp.RunAsync<TaskFarm>(args);

public sealed class TaskFarm : VirtualResource
{
    protected override void Main()
    {
        if (Parent is not null)
        {
            Work();
            return;
        }
        var tasks = new Queue<int>(Enumerable.Range(0, Args.Option("--tasks", 100)));
        var count = tasks.Count;
        var workers = Deploy<TaskFarm>(Discover()); // one per VM
        foreach (var w in workers) Monitor(w);
        var (busy, idle, lost) = (new Dictionary<VrId, int>(), new Queue<VrId>(), new HashSet<VrId>());
        long total = 0;
        for (var done = 0; done < count;)
        {
            var p = Recv(new { tag = Match.OneOf("ready", "river.down") });
            if (p.Get<string>("tag") == "river.down")
            {
                lost.Add(p.Src);
                if (busy.Remove(p.Src, out var orphan)) tasks.Enqueue(orphan);
                if (lost.Count == workers.Count) throw new InvalidOperationException("every worker is lost");
            }
            else
            {
                if (p.TryGet<long>("result", out var result)) (total, done) = (total + result, done + 1);
                busy.Remove(p.Src);
                idle.Enqueue(p.Src);
            }
            while (tasks.Count > 0 && idle.TryDequeue(out var w))
                if (!lost.Contains(w)) Send(w, new { tag = "task", n = busy[w] = tasks.Dequeue() });
        }
        foreach (var w in workers) Send(w, new { tag = "stop" });
        Console.WriteLine($"farm: {count} tasks done by {workers.Count} workers, sum of squares {total}");
    }

    private void Work()
    {
        Send(Parent!.Value, new { tag = "ready" });
        while (Recv(new { tag = Match.OneOf("task", "stop") }) is var p && p.Get<string>("tag") == "task")
            Send(Parent.Value, new { tag = "ready", result = (long)p.Get<int>("n") * p.Get<int>("n") });
    }
}
