// budgets.jsx — the Budgets view (to come).
import { Empty, Page } from '../ui.jsx';

export default function View() {
  return (
    <Page title="Budgets">
      <Empty>This view is not built yet.</Empty>
    </Page>
  );
}
