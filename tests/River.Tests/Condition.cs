namespace River.Tests;

/// <summary>Waiting for something a test cannot be told about, only poll for.</summary>
internal static class Condition
{
    /// <summary>Polls <paramref name="condition"/> every 5 ms; fails the test, naming <paramref name="what"/>, past <paramref name="bound"/>.</summary>
    public static async Task Until(Func<bool> condition, TimeSpan bound, string what = "the condition")
    {
        var deadline = DateTime.UtcNow + bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what}: not reached within {bound.TotalSeconds} s");
            await Task.Delay(5);
        }
    }
}
