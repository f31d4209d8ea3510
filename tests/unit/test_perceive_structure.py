"""Pop-ups known by their structure, not their words: exact-match badges, close controls by shape and place, modal
windows and cards over the page, an ad SDK's activity in front or its view ids on screen."""

from crawler.perceive import perceive
from crawler.perceive.ad_sdks import ad_sdk_registry
from crawler.perceive.matching import PhraseSet, match_form
from crawler.screen import parse_hierarchy

PKG = "com.example.app"


def node(bounds, cls="android.widget.FrameLayout", text="", rid="", desc="", clickable=False, children=(),
         scrollable=False, pkg=PKG):
    x1, y1, x2, y2 = bounds
    attrs = (f'index="0" text="{text}" resource-id="{rid}" class="{cls}" package="{pkg}" content-desc="{desc}" '
             f'checkable="false" checked="false" clickable="{str(clickable).lower()}" enabled="true" '
             f'focusable="false" focused="false" scrollable="{str(scrollable).lower()}" long-clickable="false" '
             f'password="false" selected="false" bounds="[{x1},{y1}][{x2},{y2}]"')
    return f"<node {attrs}>{''.join(children)}</node>"


def dump(*windows):
    return parse_hierarchy(f'<?xml version="1.0"?><hierarchy rotation="0">{"".join(windows)}</hierarchy>')


def page(*extra):
    """A full-screen app page: a title and a list of rows, then whatever is drawn over it."""
    rows = [node((0, 200 + 200 * i, 720, 400 + 200 * i), "android.widget.LinearLayout", clickable=True,
                 children=[node((20, 220 + 200 * i, 700, 280 + 200 * i), "android.widget.TextView",
                                text=f"Row {i} of the page")]) for i in range(6)]
    content = [node((0, 48, 720, 160), "android.widget.TextView", text="My recipes"),
               node((0, 160, 720, 1600), "androidx.recyclerview.widget.RecyclerView", scrollable=True, children=rows)]
    return node((0, 0, 720, 1600), children=[node((0, 0, 720, 1600), children=content), *extra])


def scrim(*children):
    return node((0, 0, 720, 1600), "android.view.View", clickable=True, children=children)


def test_phrase_set_search_finds_exact_entries():
    badge = PhraseSet.of(["sponsored", "=ad"])
    assert badge.search(match_form("AD")) is not None
    assert badge.search(match_form("ad")).group() == "ad"
    assert badge.search(match_form("Add to cart")) is None and badge.search(match_form("ad free")) is None
    assert badge.search(match_form("Sponsored by Foo")) is not None


def test_exact_ad_badge_qualifies_a_dialog_with_an_x():
    card = node((60, 400, 660, 1200), children=[
        node((80, 420, 140, 460), "android.widget.TextView", text="AD"),
        node((80, 500, 640, 1000), "android.widget.ImageView"),
        node((200, 1050, 520, 1150), "android.widget.Button", text="CLICK NOW", clickable=True),
        node((590, 410, 650, 470), "android.widget.ImageView", desc="X", clickable=True)])
    scene = perceive(dump(page(), node((60, 400, 660, 1200), children=[card])))
    assert scene.kind == "ad_popup" and scene.popup == "ad"
    assert scene.actions["close"].bounds == (590, 410, 650, 470)
    assert scene.actions["cta"].text == "CLICK NOW"


def test_in_house_promotion_card_over_a_dimmed_page_with_an_unlabelled_corner_close():
    card = node((80, 450, 640, 1100), children=[
        node((100, 480, 620, 560), "android.widget.TextView", text="每日签到"),
        node((100, 600, 620, 900), "android.widget.ImageView"),
        node((200, 950, 520, 1050), "android.widget.Button", text="立即签到", clickable=True)])
    close = node((330, 1140, 390, 1200), "android.widget.ImageView", rid=f"{PKG}:id/iv_bottom_x", clickable=True)
    scene = perceive(dump(page(scrim(), card, close)))
    assert scene.kind == "ad_popup" and scene.popup == "promotion"
    assert scene.actions["close"].bounds == (330, 1140, 390, 1200)


def test_unknown_modal_with_a_close_id_is_a_popup_not_the_app():
    dialog = node((60, 500, 660, 1100), children=[
        node((80, 520, 640, 600), "android.widget.TextView", text="Your weekly summary is ready"),
        node((200, 950, 520, 1050), "android.widget.Button", text="View", clickable=True),
        node((590, 510, 650, 570), "android.widget.ImageView", rid=f"{PKG}:id/close-circle", clickable=True)])
    scene = perceive(dump(page(), dialog))
    assert scene.kind == "ad_popup" and scene.popup == "unknown"
    assert scene.actions["close"].resource_id.endswith("close-circle")


def test_a_card_in_the_page_flow_or_a_list_row_with_an_x_is_the_app():
    banner = node((40, 200, 680, 420), "android.widget.LinearLayout", children=[
        node((60, 220, 600, 300), "android.widget.TextView", text="New: dark mode is here"),
        node((620, 210, 670, 260), "android.widget.ImageView", rid=f"{PKG}:id/iv_close", clickable=True)])
    flow = node((0, 0, 720, 1600), "android.widget.LinearLayout", children=[
        node((0, 48, 720, 160), "android.widget.TextView", text="Home"), banner,
        node((0, 440, 720, 1600), "android.widget.TextView", text="Today")])
    assert perceive(dump(flow)).kind == "app"


def test_close_ids_are_words_not_substrings():
    def dialog(rid):
        return node((60, 500, 660, 1100), children=[
            node((80, 520, 640, 600), "android.widget.TextView", text="Wardrobe"),
            node((300, 700, 400, 800), "android.widget.ImageView", rid=f"{PKG}:id/{rid}", clickable=True)])
    assert perceive(dump(page(), dialog("closet_icon"))).kind == "app"
    assert perceive(dump(page(), dialog("btn_close_x"))).kind == "ad_popup"


def sdk_interstitial():
    return node((0, 0, 720, 1600), children=[
        node((0, 0, 720, 1600), "android.webkit.WebView"),
        node((600, 60, 696, 156), "android.widget.FrameLayout", clickable=True),
        node((160, 1300, 560, 1400), "android.widget.Button", text="Play Now", clickable=True)])


def test_sdk_activity_in_front_is_an_ad_whatever_it_says():
    activity = "com.bytedance.sdk.openadsdk.stub.activity.Stub_Standard_Portrait_Activity"
    scene = perceive(dump(sdk_interstitial()), activity=activity)
    assert scene.kind == "ad_popup" and scene.ad_sdk == "pangle" and scene.popup == "ad"
    assert scene.actions["close"].bounds == (600, 60, 696, 156)
    assert perceive(dump(sdk_interstitial())).kind == "app"
    assert perceive(dump(sdk_interstitial()), activity="com.example.app.GameActivity").kind == "app"


def test_sdk_view_ids_make_a_popup_an_ad():
    card = node((60, 400, 660, 1200), children=[
        node((80, 420, 140, 460), "android.widget.ImageView", rid=f"{PKG}:id/ksad_logo_icon"),
        node((200, 1050, 520, 1150), "android.widget.Button", text="Open", clickable=True),
        node((590, 410, 650, 470), "android.widget.ImageView", rid=f"{PKG}:id/ksad_auto_close_btn", clickable=True)])
    scene = perceive(dump(page(), node((60, 400, 660, 1200), children=[card])))
    assert scene.kind == "ad_popup" and scene.popup == "ad" and scene.ad_sdk == "kuaishou"


def test_ad_sdk_registry_has_sourced_facts_for_sdks_worldwide():
    registry = ad_sdk_registry()
    assert len(registry.sdks) >= 15
    for sdk in registry.sdks:
        assert sdk.sources and (sdk.packages or sdk.view_ids is not None), sdk.id
    assert registry.by_activity("com.qq.e.ads.PortraitADActivity").id == "gdt"
    assert registry.by_activity("com.google.android.gms.ads.AdActivity").id == "admob"
    assert registry.by_activity("com.google.android.gms.auth.api.signin.internal.SignInHubActivity") is None
    assert registry.by_class("com.kwad.sdk.api.KsAdSDK").id == "kuaishou"
    assert registry.by_class("com.qq.eat.Menu") is None
