namespace River;

/// <summary>A VM refused or failed to start a deployed VR; names the type and the VM.</summary>
public sealed class DeployException(string message, Exception? inner = null) : Exception(message, inner);
