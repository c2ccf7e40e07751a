using Akka.Actor;

// The classic programs of docs/PROGRAMMABILITY.md written with Akka.NET actors (one process), one file each:
// AkkaClassics pi|ring|wordcount|heat [--workers N] [options]
var rest = args.Skip(1).ToArray();
var workers = rest.Option("--workers", 3);
var system = ActorSystem.Create("classics");
Func<ActorSystem, int, IReadOnlyList<string>, Task>? run = args.FirstOrDefault() switch
{
    "pi" => AkkaPi.Run,
    "ring" => AkkaRing.Run,
    "wordcount" => AkkaWordCount.Run,
    "heat" => AkkaHeat.Run,
    _ => null,
};
if (run is not null) await run(system, workers, rest);
else Console.Error.WriteLine("usage: AkkaClassics pi|ring|wordcount|heat [--workers N] [options]");
await system.Terminate();
return run is null ? 2 : 0;
