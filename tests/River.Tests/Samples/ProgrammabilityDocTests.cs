using System.Text.RegularExpressions;

namespace River.Tests.Samples;

/// <summary>docs/PROGRAMMABILITY.md's line counts are those of the files they link to.</summary>
public partial class ProgrammabilityDocTests
{
    [Fact]
    public void Every_line_count_in_the_table_is_the_linked_files_count_of_code_lines()
    {
        var docs = Path.Combine(Built.Root, "docs");
        var table = File.ReadAllLines(Path.Combine(docs, "PROGRAMMABILITY.md")).Where(l => l.StartsWith("| ", StringComparison.Ordinal));
        var cells = table.SelectMany(l => CountLink().Matches(l)).ToList();
        Assert.Equal(16, cells.Count); // four programs, four models
        foreach (var cell in cells)
        {
            var file = Path.GetFullPath(Path.Combine(docs, cell.Groups["path"].Value));
            Assert.True(int.Parse(cell.Groups["n"].Value) == CodeLines(file), $"{cell.Value}: the file has {CodeLines(file)} code lines");
        }
    }

    [Fact]
    public void Code_lines_leave_out_blank_lines_and_comments_only()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, ["using River;", "", "   // a comment", "/// <summary>doc</summary>", "var x = 1; // trailing", "  {", "}"]);
            Assert.Equal(4, CodeLines(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Lines that are not blank and do not start (after spaces) with <c>//</c>: how the doc counts.</summary>
    private static int CodeLines(string file) =>
        File.ReadAllLines(file).Count(l => l.Trim() is { Length: > 0 } code && !code.StartsWith("//", StringComparison.Ordinal));

    [GeneratedRegex(@"\[(?<n>\d+)\]\((?<path>\.\./[^)]+\.cs)\)")]
    private static partial Regex CountLink();
}
