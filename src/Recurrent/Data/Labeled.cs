namespace Recurrent.Data;

/// <summary>An input with its class: a text, a numeric sequence [length, features], … and its label.</summary>
public readonly record struct Labeled<TInput>(TInput Input, string Label);
