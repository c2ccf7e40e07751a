using System.CommandLine;

namespace River.Cli.Commands;

/// <summary>
/// <c>river up --hosts FILE</c>: starts one <c>river vm</c> per line of the hosts file over ssh (key auth). The first
/// host's VM is every other's seed; each VM's pid goes to a file in the remote run folder, for <c>river down</c>.
/// </summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var ssh = new SshArguments();
        var cluster = new Option<string>("--cluster") { Description = "The cluster's name.", DefaultValueFactory = _ => "river" };
        var keyFile = new Option<string?>("--key-file") { Description = "The cluster key file's path on the remote hosts." };
        var river = new Option<string>("--river") { Description = "The remote command that runs River's CLI (a shell command line).", DefaultValueFactory = _ => "river" };
        var command = new Command("up", "Start a River VM on each host of a hosts file over ssh.") { cluster, keyFile, river };
        ssh.AddTo(command);
        command.SetAction((parse, cancel) =>
        {
            var runDir = parse.GetValue(ssh.RunDir)!;
            return ssh.RunAllAsync(parse, (host, index) =>
            {
                List<string> args = ["vm", "--cluster", parse.GetValue(cluster)!];
                if (parse.GetValue(keyFile) is { } key) args.AddRange(["--key-file", key]);
                if (!host.VmOptions.Contains("--bind")) args.AddRange(["--bind", host.Bind]);
                if (!host.VmOptions.Contains("--port")) args.AddRange(["--port", $"{host.Port}"]);
                if (index > 0 && !host.VmOptions.Contains("--seeds")) args.AddRange(["--seeds", $"{FirstSeed(parse, ssh)}"]);
                args.AddRange(host.VmOptions);
                var vm = parse.GetValue(river) + " " + string.Join(' ', args.Select(SshHost.Quote));
                var pid = SshHost.Quote(host.PidFile);
                var output = SshHost.Quote(Path.GetFileNameWithoutExtension(host.PidFile));
                return $$"""
                    mkdir -p {{SshHost.Quote(runDir)}} && cd {{SshHost.Quote(runDir)}} || exit 1
                    if [ -f {{pid}} ] && kill -0 "$(cat {{pid}})" 2>/dev/null; then echo "a VM started by river up runs already (pid $(cat {{pid}}))" >&2; exit 1; fi
                    nohup {{vm}} > {{output}}.out 2> {{output}}.log < /dev/null &
                    vm=$!
                    echo $vm > {{pid}}
                    i=0
                    until grep -q 'listening on' {{output}}.out; do
                        kill -0 $vm 2>/dev/null || { echo "the VM exited; the end of $PWD/"{{output}}.log: >&2; tail -n 20 {{output}}.log >&2; rm -f {{pid}}; exit 1; }
                        i=$((i + 1)); [ $i -lt 300 ] || { echo "the VM did not listen within 60 s (pid $vm, log $PWD/"{{output}}.log")" >&2; exit 1; }
                        sleep 0.2
                    done
                    echo "pid $vm: $(grep 'listening on' {{output}}.out)"
                    """;
            }, "river up", firstAlone: true, cancel);
        });
        return command;
    }

    private static string FirstSeed(ParseResult parse, SshArguments ssh)
    {
        var first = SshHost.Read(parse.GetValue(ssh.Hosts)!.FullName)[0];
        return $"{first.Bind}:{first.Port}";
    }
}
