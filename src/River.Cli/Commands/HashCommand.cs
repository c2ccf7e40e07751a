using System.CommandLine;
using System.Reflection;
using System.Runtime.Loader;

namespace River.Cli.Commands;

/// <summary><c>river hash App.dll</c>: the SHA-256 of a program's assemblies, for <c>river vm --allow-program</c>.</summary>
internal static class HashCommand
{
    public static Command Create()
    {
        var app = new Argument<FileInfo>("app") { Description = "The program: a built App.dll." };
        var command = new Command("hash", "Print the SHA-256 hashes of a program's assemblies (itself and its own libraries, not the framework or River), comma-separated for river vm --allow-program.") { app };
        command.SetAction(parse =>
        {
            var file = parse.GetValue(app)!;
            if (!file.Exists)
            {
                Console.Error.WriteLine($"river: {file.FullName} does not exist.");
                return 2;
            }
            var context = new ProgramContext(file.FullName);
            try
            {
                var program = context.LoadFromAssemblyPath(file.FullName);
                // The same walk and hashes as the program's own process computes when it deploys.
                Console.WriteLine(string.Join(',', ProgramAssemblies.Of(program).Select(ProgramAssemblies.RefOf).OfType<CodeRef>().Select(c => c.Hash)));
                return 0;
            }
            catch (BadImageFormatException e)
            {
                Console.Error.WriteLine($"river: {file.FullName} is not a .NET assembly: {e.Message}");
                return 2;
            }
            finally
            {
                context.Unload();
            }
        });
        return command;
    }

    /// <summary>The program's libraries from its folder (its deps.json); River itself and the framework are this process's own.</summary>
    private sealed class ProgramContext(string path) : AssemblyLoadContext("river-hash", isCollectible: true)
    {
        private readonly AssemblyDependencyResolver _resolver = new(path);

        protected override Assembly? Load(AssemblyName name) =>
            name.Name == typeof(ProgramAssemblies).Assembly.GetName().Name || _resolver.ResolveAssemblyToPath(name) is not { } file
                ? null
                : LoadFromAssemblyPath(file);
    }
}
