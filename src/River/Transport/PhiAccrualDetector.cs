namespace River;

/// <summary>
/// How long one link may be silent before its VM is suspected, learnt from the link's own rhythm: a phi accrual
/// detector (Hayashibara et al., 2004). Phi is -log10 of the chance that a live link stays silent this long, given
/// the gaps between arrivals seen lately (a normal distribution of their mean and deviation); the VM is suspected
/// once phi reaches <see cref="Threshold"/>. A link heard every heartbeat interval, steadily, reaches it after
/// the failure timeout; one whose gaps were longer or scattered (a loaded host, a start storm) later, never
/// past the limit (<see cref="ClusterOptions.MaxFailureTimeout"/>): that bounds how late a death is reported.
/// Time is passed in (milliseconds of <see cref="Environment.TickCount64"/>), so tests drive it.
/// </summary>
internal sealed class PhiAccrualDetector
{
    /// <summary>Phi at which the VM is suspected: under the model, a one in 10^8 chance that a live link is this late.</summary>
    public const double Threshold = 8;

    // Gaps kept (64 idle heartbeats: the last 16 s of a quiet link), and the weight of the prior (in gaps): a new link
    // starts as tolerant as the limit allows and earns the failure timeout as steady gaps come in.
    private const int Window = 64, PriorWeight = 4;

    // How many deviations past the expected gap phi reaches the threshold.
    private static readonly double ThresholdDeviations = DeviationsFor(Threshold);

    private readonly long _interval, _timeout, _limit;
    private readonly double _minDeviation, _priorDeviation;
    private readonly Lock _lock = new();
    private readonly long[] _gaps = new long[Window];
    private int _count, _next;
    private double _sum, _squares;
    private long _lastHeard, _lastNoted;

    // Time of our own stall (see Excuse) that falls into the silence since _excusedSince, the arrival it follows.
    private long _excused, _excusedSince;

    /// <param name="interval">How often the remote VM sends a heartbeat on an idle link.</param>
    /// <param name="timeout">Silence after which a steady link is suspected.</param>
    /// <param name="limit">Silence after which any link is suspected (raised to <paramref name="timeout"/> if below).</param>
    /// <param name="now">The link's birth, as its first arrival.</param>
    public PhiAccrualDetector(TimeSpan interval, TimeSpan timeout, TimeSpan limit, long now)
    {
        _interval = Math.Max(1, (long)interval.TotalMilliseconds);
        _timeout = (long)timeout.TotalMilliseconds;
        _limit = Math.Max(_timeout, (long)limit.TotalMilliseconds);
        // A quarter interval: the scheduling jitter of a heartbeat thread on a busy host, which should not move the bound.
        _minDeviation = _interval / 4.0;
        // Chosen so that a link with nothing but the prior is suspected at the limit.
        _priorDeviation = _minDeviation + (_limit - _timeout) / ThresholdDeviations;
        _lastHeard = _lastNoted = _excusedSince = now;
    }

    public PhiAccrualDetector(ClusterOptions options, long now)
        : this(options.HeartbeatInterval, options.FailureTimeout, options.MaxFailureTimeout, now)
    {
    }

    /// <summary>When anything last arrived.</summary>
    public long LastHeard => Volatile.Read(ref _lastHeard);

    /// <summary>
    /// Something arrived. Every arrival resets the silence, but a gap is learnt only once half a heartbeat interval
    /// has passed since the last one learnt: a busy link would otherwise fill the window with gaps of microseconds
    /// and then suspect a VM at its first pause. Gaps past the limit are outages, not the link's rhythm. Called by the
    /// connection's reader for every read: cheap unless a gap is learnt.
    /// </summary>
    public void Heard(long now)
    {
        if (Volatile.Read(ref _lastHeard) == now) return;
        Volatile.Write(ref _lastHeard, now);
        if (now - Volatile.Read(ref _lastNoted) < _interval / 2) return;
        lock (_lock)
        {
            var gap = now - _lastNoted;
            if (gap < _interval / 2) return;
            _lastNoted = now;
            if (gap <= _limit) Learn(gap);
        }
    }

    private void Learn(long gap)
    {
        if (_count == Window)
        {
            var old = _gaps[_next];
            _sum -= old;
            _squares -= (double)old * old;
        }
        else _count++;
        _gaps[_next] = gap;
        _next = (_next + 1) % Window;
        _sum += gap;
        _squares += (double)gap * gap;
    }

    /// <summary>
    /// This VM itself could not observe from <paramref name="from"/> to <paramref name="to"/> (its heartbeat thread was
    /// stalled: a GC pause, SIGSTOP, a starved host): that time does not count as the remote VM's silence, as an observer
    /// that is itself late should not blame others (Lifeguard's local health). One caller (the heartbeat thread).
    /// </summary>
    public void Excuse(long from, long to)
    {
        var heard = LastHeard;
        if (_excusedSince != heard)
        {
            _excusedSince = heard;
            _excused = 0;
        }
        _excused += Math.Max(0, to - Math.Max(from, heard));
    }

    /// <summary>Milliseconds since anything arrived, less the time this VM excused itself for.</summary>
    public long Silence(long now)
    {
        var heard = LastHeard;
        return now - heard - (_excusedSince == heard ? _excused : 0);
    }

    /// <summary>The silence at which phi reaches <see cref="Threshold"/>, within the failure timeout and the limit.</summary>
    public long SuspectAfter()
    {
        var (mean, deviation) = Distribution();
        return (long)Math.Min(_limit, _timeout + (mean - _interval) + ThresholdDeviations * (deviation - _minDeviation));
    }

    /// <summary>Phi after <paramref name="silence"/> ms: -log10 of the chance that a live link is silent this long.</summary>
    public double Phi(long silence)
    {
        var (mean, deviation) = Distribution();
        // The acceptable pause that puts a steady link's threshold at the failure timeout (Akka's acceptable-heartbeat-pause).
        var pause = _timeout - _interval - ThresholdDeviations * _minDeviation;
        return PhiOf((silence - mean - pause) / deviation);
    }

    /// <summary>The mean and deviation of the gaps learnt and the prior, never below a steady link's (the heartbeat interval, a quarter of it).</summary>
    private (double Mean, double Deviation) Distribution()
    {
        double n, sum, squares;
        lock (_lock)
        {
            n = _count + PriorWeight;
            sum = _sum + PriorWeight * (double)_interval;
            squares = _squares + PriorWeight * ((double)_interval * _interval + _priorDeviation * _priorDeviation);
        }
        var mean = sum / n;
        var deviation = Math.Sqrt(Math.Max(0, squares / n - mean * mean));
        return (Math.Max(mean, _interval), Math.Max(deviation, _minDeviation));
    }

    /// <summary>-log10 of the normal distribution's upper tail past <paramref name="y"/> deviations (a logistic approximation of it).</summary>
    private static double PhiOf(double y)
    {
        var a = y * (1.5976 + 0.070566 * y * y);
        // log10(1 + e^a), computed without overflow for large a.
        return (Math.Max(a, 0) + Math.Log(1 + Math.Exp(-Math.Abs(a)))) / Math.Log(10);
    }

    /// <summary>The deviations past the mean at which <see cref="PhiOf"/> reaches <paramref name="phi"/> (it grows monotonically).</summary>
    private static double DeviationsFor(double phi)
    {
        double low = 0, high = 40;
        for (var i = 0; i < 100; i++)
        {
            var mid = (low + high) / 2;
            if (PhiOf(mid) < phi) low = mid;
            else high = mid;
        }
        return high;
    }
}
