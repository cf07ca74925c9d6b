// params.jsx — the Parameters view (to come).
import { Empty, Page } from '../ui.jsx';

export default function View() {
  return (
    <Page title="Parameters">
      <Empty>This view is not built yet.</Empty>
    </Page>
  );
}
