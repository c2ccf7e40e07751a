namespace River;

/// <summary>The last <see cref="VmStatus.MaxFailures"/> failures a VM saw, for <see cref="VmStatus.Failures"/>.</summary>
internal sealed class FailureLog
{
    private readonly Queue<FailureReport> _recent = new();

    public void Add(FailureKind kind, object subject, string detail)
    {
        var report = new FailureReport(DateTimeOffset.UtcNow, kind, subject.ToString()!, LogText.Escape(detail.ReplaceLineEndings(" ")));
        lock (_recent)
        {
            if (_recent.Count == VmStatus.MaxFailures) _recent.Dequeue();
            _recent.Enqueue(report);
        }
    }

    public FailureReport[] Snapshot()
    {
        lock (_recent) return [.. _recent];
    }
}
