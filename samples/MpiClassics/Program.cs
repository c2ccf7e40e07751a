using River.Mpi;

// The classic programs of docs/PROGRAMMABILITY.md written with River.Mpi, one file each:
// MpiClassics pi|ring|wordcount|heat [-n RANKS] [--vms N] [options]
return args.FirstOrDefault() switch
{
    "pi" => await MpiApp.RunAsync<MpiPiMonteCarlo>(args[1..]),
    "ring" => await MpiApp.RunAsync<MpiRing>(args[1..]),
    "wordcount" => await MpiApp.RunAsync<MpiWordCount>(args[1..]),
    "heat" => await MpiApp.RunAsync<MpiHeat>(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: MpiClassics pi|ring|wordcount|heat [-n RANKS] [--vms N] [options]");
    return 2;
}
