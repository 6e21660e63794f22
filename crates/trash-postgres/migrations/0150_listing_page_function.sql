-- The page of a trash listing (issue 12), taken by a function so that
-- PostgreSQL reads it from the `(workspace, deleted_at, id)` index in order
-- whatever its statistics say.
--
-- Without statistics (no ANALYZE yet, as on a cluster with autovacuum off)
-- PostgreSQL estimates `workspace = $1` at 0.5 % of the table. Between a few
-- thousand and a few hundred thousand trashed items that estimate makes a
-- bitmap scan of the whole workspace plus a top-N sort look cheaper than a
-- backward index walk: measured at 50,000 items, 32 ms instead of 0.3 ms.
-- `SET enable_sort = off` on the function forbids that sort for these four
-- statements only, and PL/pgSQL keeps their plans (generic after five
-- calls), so the listing is neither re-planned per request nor dependent on
-- ANALYZE. One branch per shape, so each cursor bound stays an index bound.
CREATE FUNCTION trash_list_page(
    p_workspace text,
    p_kind text,
    p_after_at timestamptz,
    p_after_id text,
    p_limit integer
) RETURNS SETOF trash_operations
LANGUAGE plpgsql STABLE
SET enable_sort = off
SET search_path FROM CURRENT
AS $fn$
BEGIN
    IF p_kind IS NULL AND p_after_at IS NULL THEN
        RETURN QUERY SELECT o.* FROM trash_operations o
            WHERE o.workspace = p_workspace
            ORDER BY o.deleted_at DESC, o.id DESC LIMIT p_limit;
    ELSIF p_kind IS NULL THEN
        RETURN QUERY SELECT o.* FROM trash_operations o
            WHERE o.workspace = p_workspace
              AND (o.deleted_at, o.id) < (p_after_at, p_after_id)
            ORDER BY o.deleted_at DESC, o.id DESC LIMIT p_limit;
    ELSIF p_after_at IS NULL THEN
        RETURN QUERY SELECT o.* FROM trash_operations o
            WHERE o.workspace = p_workspace AND o.root_kind = p_kind
            ORDER BY o.deleted_at DESC, o.id DESC LIMIT p_limit;
    ELSE
        RETURN QUERY SELECT o.* FROM trash_operations o
            WHERE o.workspace = p_workspace AND o.root_kind = p_kind
              AND (o.deleted_at, o.id) < (p_after_at, p_after_id)
            ORDER BY o.deleted_at DESC, o.id DESC LIMIT p_limit;
    END IF;
END
$fn$;
