using System.CommandLine;

namespace River.Cli.Commands;

/// <summary><c>river down --hosts FILE</c>: stops, with SIGTERM, the VMs <c>river up</c> started on the hosts of the file.</summary>
internal static class DownCommand
{
    public static Command Create()
    {
        var ssh = new SshArguments();
        var command = new Command("down", "Stop the River VMs river up started on the hosts of a hosts file.");
        ssh.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            var runDir = SshHost.Quote(parse.GetValue(ssh.RunDir)!);
            return ssh.RunAllAsync(parse, (host, _) =>
            {
                var pid = SshHost.Quote(host.PidFile);
                return $$"""
                    cd {{runDir}} 2>/dev/null && [ -f {{pid}} ] || { echo "no VM started by river up on {{host.Bind}}:{{host.Port}}" >&2; exit 1; }
                    vm=$(cat {{pid}})
                    if kill -TERM "$vm" 2>/dev/null; then
                        i=0
                        while kill -0 "$vm" 2>/dev/null; do
                            i=$((i + 1)); [ $i -lt 150 ] || { echo "the VM (pid $vm) still runs 30 s after SIGTERM" >&2; exit 1; }
                            sleep 0.2
                        done
                        echo "stopped the VM on {{host.Bind}}:{{host.Port}} (pid $vm)"
                    else
                        echo "the VM on {{host.Bind}}:{{host.Port}} (pid $vm) had ended already"
                    fi
                    rm -f {{pid}}
                    """;
            }, "river down", firstAlone: false, cancel);
        });
        return command;
    }
}
