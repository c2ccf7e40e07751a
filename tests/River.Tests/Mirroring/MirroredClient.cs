namespace River.Tests.Mirroring;

/// <summary>
/// A client that is itself mirrored: sends requests <c>k</c> = 1..<c>DeployArgs[1]</c> to the counter
/// <c>DeployArgs[0]</c> (at most 20 unanswered), checks each running sum, tells its parent <c>{ tag = "half" }</c>
/// halfway and <c>{ tag = "done", error, sum }</c> at the end. Its packets to the counter are mirrored to mirrored.
/// </summary>
public sealed class MirroredClient : VirtualResource
{
    protected override void Main()
    {
        var (counter, requests) = ((VrId)DeployArgs[0]!, (int)DeployArgs[1]!);
        var (sent, error) = (0, "");
        long sum = 0;
        for (var answered = 0; answered < requests && error.Length == 0;)
        {
            while (sent < requests && sent - answered < 20) Send(counter, new { tag = "add", k = ++sent });
            var reply = Recv(new { tag = "sum" });
            answered++;
            sum += answered;
            if (reply.Get<int>("k") != answered || reply.Get<long>("sum") != sum) error = $"answer {answered} was {reply}";
            if (answered == requests / 2) Send(Parent!.Value, new { tag = "half" });
        }
        Send(counter, new { tag = "stop" });
        Send(Parent!.Value, new { tag = "done", error, sum });
    }
}
