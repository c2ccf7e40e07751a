using River;

// The classic programs of docs/PROGRAMMABILITY.md written with River.Trickle, one file each:
// TrickleClassics pi|ring|wordcount|heat [--vms N | --seeds ... | --discover] [options]
await using var trickle = await Trickle.Connect(args.Length > 0 ? args[1..] : args);
switch (args.FirstOrDefault())
{
    case "pi": await TricklePi.Run(trickle); break;
    case "ring": await TrickleRing.Run(trickle); break;
    case "wordcount": await TrickleWordCount.Run(trickle); break;
    case "heat": await TrickleHeat.Run(trickle); break;
    default: Console.Error.WriteLine("usage: TrickleClassics pi|ring|wordcount|heat [--vms N] [options]"); return 2;
}
return 0;
