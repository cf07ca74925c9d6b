// providers.jsx — the Providers view (to come).
import { Empty, Page } from '../ui.jsx';

export default function View() {
  return (
    <Page title="Providers">
      <Empty>This view is not built yet.</Empty>
    </Page>
  );
}
