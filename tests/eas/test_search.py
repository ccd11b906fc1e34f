"""Search of the Mailbox store: free text through the store's index, dates, scope, ranges,
and fetching a result by its LongId."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from roost.proto.eas.wbxml import Element
from tests.eas.scene import A, E, EasScene, find_all, first_text, message, run, texts

S = "Search"


def search(
    *conditions: Element, range_: str = "0-9", deep: bool = False, store: str = "Mailbox"
) -> Element:
    options = [E(S, "Range", value=range_)]
    if deep:
        options.append(E(S, "DeepTraversal"))
    return E(
        S,
        S,
        E(
            S,
            "Store",
            E(S, "Name", value=store),
            E(S, "Query", E(S, "And", A("Class", value="Email"), *conditions)),
            E(S, "Options", *options),
        ),
    )


def free_text(text: str) -> Element:
    return E(S, "FreeText", value=text)


def test_free_text_newest_first_with_range_and_total(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        archive = await s.store.find_mailbox(s.account.id, "Archive")
        day = [datetime(2024, 5, n, 9, 0, tzinfo=UTC) for n in range(1, 5)]
        await s.append(message("budget draft", "the quarterly budget"), when=day[0])
        await s.append(message("lunch", "sandwiches"), when=day[1])
        await s.append(message("budget final", "the budget, final"), archive, when=day[2])
        await s.append(message("budget notes", "more about the budget"), when=day[3])
        document = (await s.command(S, search(free_text("budget"), range_="0-1"))).document
        assert first_text(document, S, "Total") == "3"
        assert first_text(document, S, "Range") == "0-1"
        assert texts(document, "Email", "Subject") == ["budget notes", "budget final"]
        assert texts(document, S, "LongId") == [f"{s.inbox.id}:3", f"{archive.id}:1"]
        rest = (await s.command(S, search(free_text("budget"), range_="2-9"))).document
        assert texts(rest, "Email", "Subject") == ["budget draft"]
        only_inbox = search(A("CollectionId", value=str(s.inbox.id)), free_text("final budget"))
        assert first_text((await s.command(S, only_inbox)).document, S, "Total") == "0"
        both_words = (await s.command(S, search(free_text("final budget")))).document
        assert texts(both_words, "Email", "Subject") == ["budget final"]
        after = E(
            S,
            "GreaterThan",
            E("Email", "DateReceived"),
            E(S, "Value", value="2024-05-02T00:00:00.000Z"),
        )
        before = E(
            S,
            "LessThan",
            E("Email", "DateReceived"),
            E(S, "Value", value="2024-05-04T09:00:00.000Z"),
        )
        window = (await s.command(S, search(after, before))).document
        assert texts(window, "Email", "Subject") == ["budget final", "lunch"]

    run(tmp_path, scenario)


def test_deep_traversal_reaches_subfolders(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        parent = await s.store.create_mailbox(s.account.id, "Projects")
        child = await s.store.create_mailbox(s.account.id, "Projects/Roost")
        await s.append(message("roost plan", "plan"), child)
        scoped = A("CollectionId", value=str(parent.id))
        shallow = (await s.command(S, search(scoped, free_text("plan")))).document
        assert first_text(shallow, S, "Total") == "0"
        deep = (await s.command(S, search(scoped, free_text("plan"), deep=True))).document
        assert first_text(deep, S, "Total") == "1"

    run(tmp_path, scenario)


def test_a_result_is_fetched_by_its_long_id(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        await s.append(message("needle", "the whole body of the needle"))
        document = (await s.command(S, search(free_text("needle")))).document
        long_id = first_text(document, S, "LongId")
        io = "ItemOperations"
        fetch = E(
            io, io, E(io, "Fetch", E(io, "Store", value="Mailbox"), E(S, "LongId", value=long_id))
        )
        fetched = (await s.command(io, fetch)).document
        assert first_text(fetched, "AirSyncBase", "Data") == "the whole body of the needle"

    run(tmp_path, scenario)


def test_search_refusals(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        gal = (await s.command(S, search(free_text("x"), store="GAL"))).document
        assert texts(gal, S, "Status") == ["1", "2"]
        gone = (await s.command(S, search(A("CollectionId", value="999"), free_text("x")))).document
        assert texts(gone, S, "Status") == ["1", "11"]
        bad_range = (await s.command(S, search(free_text("x"), range_="9-1"))).document
        assert texts(bad_range, S, "Status") == ["2"]
        assert find_all(bad_range, S, "Result") == []

    run(tmp_path, scenario)


def test_find_refusals(tmp_path: Path) -> None:
    async def scenario(s: EasScene) -> None:
        await s.provision()
        F = "Find"

        def find(criterion: Element) -> Element:
            return E(F, F, E(F, "SearchId", value="1"), E(F, "ExecuteSearch", criterion))

        gal = find(E(F, "GalSearchCriterion", E(F, "Query", value="smith")))
        assert texts((await s.command(F, gal)).document, F, "Status") == ["2"]
        gone = find(
            E(
                F,
                "MailBoxSearchCriterion",
                E(F, "Query", E(F, "FreeText", value="x"), A("CollectionId", value="999")),
            )
        )
        assert texts((await s.command(F, gone)).document, F, "Status") == ["3"]

    run(tmp_path, scenario)
