namespace River.Tests;

/// <summary>Tests that build the repository in Release (the bench, the packages) share its bin/Release and obj folders, so they run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class ReleaseBuilds
{
    public const string Name = "Release builds";
}
