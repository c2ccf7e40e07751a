using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace River.Hosting;

/// <summary>Registers River in a host's services.</summary>
public static class RiverServiceCollectionExtensions
{
    /// <summary>Runs River as a hosted service (<see cref="RiverHost"/>, also injectable), configured by <paramref name="configure"/>.</summary>
    /// <example><code>builder.Services.AddRiver(o =&gt; o.Vms = 4);</code></example>
    public static IServiceCollection AddRiver(this IServiceCollection services, Action<RiverHostOptions>? configure = null)
    {
        var options = services.AddOptions<RiverHostOptions>();
        if (configure is not null) options.Configure(configure);
        services.AddSingleton<RiverHost>();
        services.AddHostedService(sp => sp.GetRequiredService<RiverHost>());
        return services;
    }

    /// <summary>As <see cref="AddRiver(IServiceCollection, Action{RiverHostOptions}?)"/>, bound from a configuration section (e.g. <c>River</c>).</summary>
    public static IServiceCollection AddRiver(this IServiceCollection services, IConfiguration section)
    {
        services.AddOptions<RiverHostOptions>().Bind(section);
        return services.AddRiver();
    }
}
