namespace Recurrent.Serialization;

/// <summary>
/// The safetensors dtype list, in the reference enum's order (which is increasing
/// alignment: the writer sorts tensors by this rank, descending, then by name).
/// </summary>
internal static class SafeTensorsDType
{
    internal readonly record struct Info(string Name, int Bits, int Rank);

    private static readonly string[] NamesInOrder =
    [
        "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
        "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
        "C64", "F64", "I64", "U64",
    ];

    private static readonly Dictionary<string, Info> ByName = BuildTable();

    public static bool TryGet(string name, out Info info) => ByName.TryGetValue(name, out info);

    public static Info Get(string name) => ByName[name];

    private static Dictionary<string, Info> BuildTable()
    {
        var table = new Dictionary<string, Info>(StringComparer.Ordinal);
        for (int rank = 0; rank < NamesInOrder.Length; rank++)
        {
            string name = NamesInOrder[rank];
            table.Add(name, new Info(name, BitsOf(name), rank));
        }
        return table;
    }

    private static int BitsOf(string name) => name switch
    {
        "F4" => 4,
        "F6_E2M3" or "F6_E3M2" => 6,
        "BOOL" or "U8" or "I8" => 8,
        _ when name.StartsWith("F8", StringComparison.Ordinal) => 8,
        "I16" or "U16" or "F16" or "BF16" => 16,
        "I32" or "U32" or "F32" => 32,
        "C64" or "F64" or "I64" or "U64" => 64,
        _ => throw new InvalidOperationException($"No bit size for dtype {name}."),
    };
}
