namespace Versioned;

/// <summary>Says which build of this library is running; the code differs between the builds, not only the version number.</summary>
public static class Lib
{
#if LIB_V2
    public static string Describe() => "lib v2";
#else
    public static string Describe() => "lib v1";
#endif
}
