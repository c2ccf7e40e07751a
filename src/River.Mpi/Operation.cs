using System.Linq.Expressions;

namespace River.Mpi;

/// <summary>
/// The predefined reductions for <see cref="Communicator.Reduce{T}(T, Func{T, T, T}, int)"/> and
/// <see cref="Communicator.Allreduce{T}(T, Func{T, T, T})"/>: built once per <typeparamref name="T"/> from its
/// operators, so they work for every numeric type and for user types that define <c>+</c>, <c>*</c>, <c>&lt;</c>.
/// Any associative, commutative <c>Func&lt;T,T,T&gt;</c> can be used in their place.
/// </summary>
public static class Operation<T>
{
    private static readonly Lazy<Func<T, T, T>> AddOp = new(() => Build(Expression.Add, "+"));
    private static readonly Lazy<Func<T, T, T>> MultiplyOp = new(() => Build(Expression.Multiply, "*"));
    private static readonly Lazy<Func<T, T, T>> MinOp = new(() => Build((a, b) => Expression.Condition(Expression.LessThanOrEqual(a, b), a, b), "<="));
    private static readonly Lazy<Func<T, T, T>> MaxOp = new(() => Build((a, b) => Expression.Condition(Expression.GreaterThanOrEqual(a, b), a, b), ">="));

    /// <summary>a + b.</summary>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> has no + operator.</exception>
    public static Func<T, T, T> Add => AddOp.Value;

    /// <summary>a * b.</summary>
    public static Func<T, T, T> Multiply => MultiplyOp.Value;

    /// <summary>The smaller of a and b (a when equal).</summary>
    public static Func<T, T, T> Min => MinOp.Value;

    /// <summary>The larger of a and b (a when equal).</summary>
    public static Func<T, T, T> Max => MaxOp.Value;

    private static Func<T, T, T> Build(Func<Expression, Expression, Expression> body, string op)
    {
        ParameterExpression a = Expression.Parameter(typeof(T), "a"), b = Expression.Parameter(typeof(T), "b");
        try
        {
            return Expression.Lambda<Func<T, T, T>>(body(a, b), a, b).Compile();
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{typeof(T).FullName} has no {op} operator for an MPI reduction; pass a Func<{typeof(T).Name},{typeof(T).Name},{typeof(T).Name}> instead.", e);
        }
    }
}
