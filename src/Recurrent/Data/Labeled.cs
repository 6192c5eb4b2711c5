namespace Recurrent.Data;

/// <summary>An input with its class: a text, a numeric sequence [length, features], … and its label.</summary>
/// <param name="Input">The input: a text, or a numeric sequence [length, features] row-major.</param>
/// <param name="Label">The class name (compared ordinally).</param>
public readonly record struct Labeled<TInput>(TInput Input, string Label);
