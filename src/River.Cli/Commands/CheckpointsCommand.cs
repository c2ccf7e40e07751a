using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace River.Cli.Commands;

/// <summary>
/// <c>river checkpoints DIR</c>: the rounds in a checkpoint directory (<c>--checkpoint-dir</c>), each read and checked as a
/// recovery or <c>--restart</c> reads it, marked complete, partial or corrupt.
/// </summary>
internal static class CheckpointsCommand
{
    public static Command Create()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "A checkpoint directory: what a run was given as --checkpoint-dir." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also each round's VRs (id and type) and the time its parts took to become durable." };
        var json = new Option<bool>("--json") { Description = "One JSON document, for scripts." };
        var command = new Command("checkpoints", "List the checkpoint rounds in a directory: number, time, VRs, size; complete, partial (no manifest) or corrupt (a checksum fails).")
        {
            directory, verbose, json,
        };
        command.SetAction(async (parse, _) =>
        {
            var dir = parse.GetValue(directory)!;
            if (!dir.Exists)
            {
                await Console.Error.WriteLineAsync($"river: {dir.FullName} is not a directory.");
                return 2;
            }
            var store = new DirectoryCheckpointStore(dir.FullName);
            var rounds = await CheckpointCoordinator.ListRoundsAsync(store, new RiverSerializer());
            if (rounds.Count == 0)
            {
                await Console.Error.WriteLineAsync($"river: {store.Location} is not a checkpoint directory: it holds no round-NNNNNN folders (a run with --checkpoint-dir writes them).");
                return 2;
            }
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(rounds.Select(ToJson), new JsonSerializerOptions { WriteIndented = true }));
            else Print(rounds, parse.GetValue(verbose));
            return 0;
        });
        return command;
    }

    private static object ToJson(RoundSummary r) => new
    {
        round = r.Round,
        state = r.State.ToString().ToLowerInvariant(),
        time = r.Time?.ToString("O", CultureInfo.InvariantCulture),
        tookMs = r.Took?.TotalMilliseconds,
        bytes = r.Bytes,
        problem = r.Problem,
        vrs = r.Vrs.Select(v => new { id = v.Id.ToString(), type = v.Type, ended = v.Ended }),
    };

    private static void Print(List<RoundSummary> rounds, bool verbose)
    {
        Console.WriteLine($"{"round",6}  {"state",-8}  {"time (UTC)",-23}  {"vrs",4}  {"bytes",14}{(verbose ? "  took" : "")}");
        foreach (var r in rounds)
        {
            var took = verbose && r.Took is { } t ? $"  {t.TotalMilliseconds:0} ms" : "";
            Console.WriteLine($"{r.Round,6}  {r.State.ToString().ToLowerInvariant(),-8}  {r.Time?.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture) ?? "-",-23}  {r.Vrs.Length,4}  {r.Bytes,14:N0}{took}");
            if (r.Problem is { } problem) Console.WriteLine($"        {problem}");
            if (!verbose) continue;
            foreach (var v in r.Vrs) Console.WriteLine($"        {v.Id}  {ShortType(v.Type)}{(v.Ended ? "  (ended)" : "")}");
        }
    }

    /// <summary>The type's full name without its assembly's (the listing is for people).</summary>
    private static string ShortType(string? type) => type is null ? "?" : type.Split(", ")[0];
}
