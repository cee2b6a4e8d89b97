from tests.ui.test_flows_keys import *
from tests.conftest import log_in, settle

async def test_sup(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "supervisor@demo.local")
        await app.connector.subscribe("queue:sales")
        await settle(pilot)
        leg = exchange_of(app).inbound_call(CALLER, SALES_NUMBER, CALLER_NAME)
        await settle(pilot)
        print("selected", calls_table(app).selected_call_id == leg.id, sorted(active_keys(app)))
        await pilot.press("a"); await settle(pilot)
        print(notifications(app), status(app, leg.id))

async def test_stale_park(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        bruno, _ = await second_agent(app)
        await bruno.subscribe("callpark")
        call_id = await connected_call(pilot)
        await open_modal(pilot, "p", ChoiceModal)
        await choose(pilot, "3")
        await bruno.unpark(3)
        await settle(pilot)
        print("agent view", app.connector.get_call(call_id).status)
        modal = await open_modal(pilot, "u", ChoiceModal)
        print(option_ids(modal))
        if option_ids(modal):
            await choose(pilot, "3")
            print(notifications(app))
