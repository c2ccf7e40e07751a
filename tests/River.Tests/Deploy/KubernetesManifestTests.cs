using YamlDotNet.RepresentationModel;

namespace River.Tests.Deploy;

/// <summary>
/// deploy/k8s without Kubernetes: the fields the manifests and the Dockerfile must agree on (what they rely
/// on at run time is <see cref="KubernetesDnsTests"/>).
/// </summary>
public sealed class KubernetesManifestTests
{
    private static readonly string Manifests = Path.Combine(Built.Root, "deploy", "k8s");

    [Fact]
    public void The_Service_is_headless_and_lists_pods_before_they_are_ready_on_the_port_the_VMs_listen_on()
    {
        var service = Load("service.yaml");
        Assert.Equal("Service", Text(service, "kind"));
        Assert.Equal("None", Text(service, "spec", "clusterIP"));
        Assert.Equal("true", Text(service, "spec", "publishNotReadyAddresses"));
        var port = Assert.Single(Sequence(service, "spec", "ports"));
        Assert.Equal(VmEnv("RIVER_PORT"), Text(port, "port"));
        Assert.Equal(VmEnv("RIVER_PORT"), Text(port, "targetPort"));
    }

    [Fact]
    public void The_StatefulSet_is_governed_by_the_Service_and_its_pods_match_the_Services_selector()
    {
        var set = Load("statefulset.yaml");
        var service = Load("service.yaml");
        Assert.Equal("StatefulSet", Text(set, "kind"));
        Assert.Equal(Text(service, "metadata", "name"), Text(set, "spec", "serviceName"));
        var labels = Labels(Node(set, "spec", "template", "metadata", "labels"));
        Assert.Equal(labels, Labels(Node(set, "spec", "selector", "matchLabels")));
        Assert.Subset(labels.ToHashSet(), Labels(Node(service, "spec", "selector")).ToHashSet());
        Assert.Equal(VmEnv("RIVER_PORT"), Text(Assert.Single(Sequence(Container(set), "ports")), "containerPort"));
    }

    [Theory]
    [InlineData("statefulset.yaml")]
    [InlineData("job.yaml")]
    public void VMs_and_the_program_seed_through_the_Service_read_the_Secrets_key_and_listen_on_the_pods_address(string manifest)
    {
        var doc = Load(manifest);
        var pod = Node(doc, "spec", "template", "spec");
        var container = Container(doc);
        var service = Load("service.yaml");
        var secret = Load("secret.yaml");

        Assert.Equal($"{Text(service, "metadata", "name")}:{VmEnv("RIVER_PORT")}", Env(container, "RIVER_SEEDS"));
        Assert.Equal(VmEnv("RIVER_CLUSTER"), Env(container, "RIVER_CLUSTER"));
        var bind = Sequence(container, "env").Single(e => Text(e, "name") == "RIVER_BIND");
        Assert.Equal("status.podIP", Text(bind, "valueFrom", "fieldRef", "fieldPath"));

        // The key file is the Secret's one entry, in a volume of that Secret, readable by the pod's group only.
        var keyFile = Env(container, "RIVER_KEY_FILE");
        var mount = Sequence(container, "volumeMounts").Single(m => Text(m, "mountPath") == Path.GetDirectoryName(keyFile));
        var volume = Sequence(pod, "volumes").Single(v => Text(v, "name") == Text(mount, "name"));
        Assert.Equal(Text(secret, "metadata", "name"), Text(volume, "secret", "secretName"));
        Assert.Equal(Path.GetFileName(keyFile), Assert.Single(((YamlMappingNode)Node(secret, "stringData")).Children).Key.ToString());
        Assert.Equal("0440", Text(volume, "secret", "defaultMode"));

        // Not root, and the same user the image runs as, so the key (group fsGroup) is readable.
        Assert.Equal("true", Text(pod, "securityContext", "runAsNonRoot"));
        Assert.Equal("1654", Text(pod, "securityContext", "runAsUser"));
        Assert.Equal("1654", Text(pod, "securityContext", "fsGroup"));
        Assert.Equal("false", Text(container, "securityContext", "allowPrivilegeEscalation"));
        Assert.Equal(Text(Container(Load("statefulset.yaml")), "image"), Text(container, "image"));
    }

    [Fact]
    public void The_Job_runs_the_sample_the_image_holds_once()
    {
        var job = Load("job.yaml");
        Assert.Equal("Job", Text(job, "kind"));
        Assert.Equal("Never", Text(job, "spec", "template", "spec", "restartPolicy"));
        Assert.Equal("0", Text(job, "spec", "backoffLimit"));
        var command = Sequence(Container(job), "command").Select(c => c.ToString()).ToList();
        Assert.Equal(["dotnet", "/app/samples/Pi/Pi.dll"], command);
        Assert.Contains("dotnet publish samples/Pi -c Release -o /app/samples/Pi", File.ReadAllText(Path.Combine(Manifests, "Dockerfile")));
    }

    [Fact]
    public void The_Dockerfile_builds_in_one_stage_and_runs_river_vm_as_a_numeric_non_root_user_in_another()
    {
        var lines = File.ReadAllLines(Path.Combine(Manifests, "Dockerfile")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var stages = lines.Select((l, i) => (l, i)).Where(x => x.l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, stages.Count);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:", stages[0].l);
        Assert.EndsWith(" AS build", stages[0].l);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/runtime:", stages[1].l);
        var final = lines.Skip(stages[1].i).ToList();
        Assert.Contains("COPY --from=build /app .", final);
        // $APP_UID is 1654 in Microsoft's .NET images, the uid the pods' runAsUser names.
        Assert.Equal("USER $APP_UID", final.Single(l => l.StartsWith("USER ", StringComparison.Ordinal)));
        Assert.Equal("ENTRYPOINT [\"dotnet\", \"/app/River.Cli.dll\", \"vm\"]", final[^1]);
        Assert.Contains($"EXPOSE {VmEnv("RIVER_PORT")}", final);
    }

    [Fact]
    public void The_Secrets_placeholder_is_refused_as_a_key_so_it_cannot_be_deployed_by_mistake()
    {
        var placeholder = Text(Load("secret.yaml"), "stringData", "cluster.key");
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, placeholder);
            var e = Assert.Throws<ArgumentException>(() => ClusterOptions.ReadKeyFile(file));
            Assert.Contains("use at least 16", e.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static YamlMappingNode Load(string file)
    {
        var yaml = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Path.Combine(Manifests, file)));
        yaml.Load(reader);
        return (YamlMappingNode)Assert.Single(yaml.Documents).RootNode;
    }

    private static YamlNode Node(YamlNode node, params string[] path) =>
        path.Aggregate(node, (n, key) => ((YamlMappingNode)n).Children[new YamlScalarNode(key)]);

    private static string Text(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value!;

    private static IEnumerable<YamlNode> Sequence(YamlNode node, params string[] path) => (YamlSequenceNode)Node(node, path);

    private static YamlNode Container(YamlNode doc) => Assert.Single(Sequence(doc, "spec", "template", "spec", "containers"));

    private static string Env(YamlNode container, string name) =>
        Text(Sequence(container, "env").Single(e => Text(e, "name") == name), "value");

    private static string VmEnv(string name) => Env(Container(Load("statefulset.yaml")), name);

    private static IReadOnlyList<string> Labels(YamlNode mapping) =>
        [.. ((YamlMappingNode)mapping).Children.Select(kv => $"{kv.Key}={kv.Value}").Order(StringComparer.Ordinal)];
}
