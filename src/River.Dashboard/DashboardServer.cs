using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace River.Dashboard;

/// <summary>
/// Serves the dashboard on loopback: the page and its assets (embedded in this assembly), <c>/api/cluster</c>
/// (the latest <see cref="ClusterView"/> as JSON) and <c>/events</c> (server-sent events, one view per poll).
/// One <see cref="ClusterWatch"/> polls for every browser.
/// </summary>
/// <example><code>
/// await using var dashboard = DashboardServer.Start(new ClusterWatch(["127.0.0.1:7700"], options), port: 8080);
/// await Task.Delay(Timeout.Infinite, token);
/// </code></example>
public sealed class DashboardServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly Dictionary<string, (string Resource, string ContentType)> Assets = new()
    {
        ["/"] = ("index.html", "text/html; charset=utf-8"),
        ["/dashboard.js"] = ("dashboard.js", "text/javascript; charset=utf-8"),
        ["/dashboard.css"] = ("dashboard.css", "text/css; charset=utf-8"),
    };

    private static readonly byte[] EventStart = "data: "u8.ToArray(), EventEnd = "\n\n"u8.ToArray();

    private readonly HttpListener _listener;
    private readonly ClusterWatch _watch;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving, _polling;
    private TaskCompletionSource<byte[]> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _latest;

    private DashboardServer(HttpListener listener, ClusterWatch watch, TimeSpan interval)
    {
        _listener = listener;
        _watch = watch;
        _interval = interval;
        Url = listener.Prefixes.Single();
        _polling = Task.Run(PollAsync);
        _serving = Task.Run(ServeAsync);
    }

    /// <summary>Where the page is: <c>http://127.0.0.1:PORT/</c>.</summary>
    public string Url { get; }

    /// <summary>
    /// Starts polling through <paramref name="watch"/> every <paramref name="interval"/> (default 1 s) and serving
    /// on 127.0.0.1:<paramref name="port"/>; port 0 takes a free one (see <see cref="Url"/>).
    /// </summary>
    /// <exception cref="HttpListenerException">The port is taken.</exception>
    public static DashboardServer Start(ClusterWatch watch, int port, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(watch);
        ArgumentOutOfRangeException.ThrowIfNotEqual(port is >= 0 and <= 65535, true, nameof(port));
        // HttpListener cannot bind port 0: take one the OS just handed out, and another if someone took it meanwhile.
        for (var attempt = 1; ; attempt++)
        {
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{(port == 0 ? FreePort() : port)}/");
            try
            {
                listener.Start();
                return new DashboardServer(listener, watch, interval ?? TimeSpan.FromSeconds(1));
            }
            catch (HttpListenerException) when (port == 0 && attempt < 10)
            {
                listener.Close();
            }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task PollAsync()
    {
        using var timer = new PeriodicTimer(_interval);
        do
        {
            var view = JsonSerializer.SerializeToUtf8Bytes(_watch.Poll(), Json);
            _latest = view;
            Interlocked.Exchange(ref _next, new(TaskCreationOptions.RunContinuationsAsynchronously)).SetResult(view);
        }
        while (await timer.WaitForNextTickAsync(_stop.Token).AsTask().ContinueWith(t => t.IsCompletedSuccessfully && t.Result));
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return; // stopped
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            var path = context.Request.Url?.AbsolutePath ?? "/";
            if (context.Request.HttpMethod != "GET") response.StatusCode = 405;
            else if (path == "/events") await StreamAsync(response);
            else if (path == "/api/cluster") await WriteAsync(response, "application/json", _latest ?? await _next.Task.WaitAsync(_stop.Token));
            else if (Assets.TryGetValue(path, out var asset)) await WriteAsync(response, asset.ContentType, Asset(asset.Resource));
            else response.StatusCode = 404;
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // the browser went away, or the dashboard stops
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // already gone
            }
        }
    }

    // Server-sent events: the latest view at once, then each new one as it is polled.
    private async Task StreamAsync(HttpListenerResponse response)
    {
        response.ContentType = "text/event-stream";
        response.Headers["Cache-Control"] = "no-cache";
        response.SendChunked = true;
        var view = _latest ?? await _next.Task.WaitAsync(_stop.Token);
        while (true)
        {
            await response.OutputStream.WriteAsync(EventStart, _stop.Token);
            await response.OutputStream.WriteAsync(view, _stop.Token);
            await response.OutputStream.WriteAsync(EventEnd, _stop.Token);
            await response.OutputStream.FlushAsync(_stop.Token);
            view = await _next.Task.WaitAsync(_stop.Token);
        }
    }

    private static async Task WriteAsync(HttpListenerResponse response, string contentType, byte[] body)
    {
        response.ContentType = contentType;
        response.Headers["Cache-Control"] = "no-cache";
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body);
    }

    private static byte[] Asset(string name)
    {
        using var stream = typeof(DashboardServer).Assembly.GetManifestResourceStream("River.Dashboard.Assets." + name)
            ?? throw new InvalidOperationException($"The asset {name} is not embedded.");
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    /// <summary>Stops polling and serving; open event streams end.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Close();
        await Task.WhenAll(_serving, _polling).ContinueWith(_ => { });
        _stop.Dispose();
    }
}
