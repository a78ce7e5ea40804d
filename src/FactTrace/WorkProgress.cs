namespace FactTrace;

/// <summary>Progress of a long library step (tracing, ablation, grafting), for a progress bar or log lines.</summary>
public sealed record WorkProgress(string Task, long Done, long Total);
